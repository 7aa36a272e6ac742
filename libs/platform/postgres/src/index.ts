export { PostgresModule } from './lib/postgres.module';
export type { GivenPool, PostgresModuleOptions } from './lib/postgres.module';
