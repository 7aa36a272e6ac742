export { serviceGenerator } from './generators/service/generator';
export type { ServiceGeneratorSchema, ServiceKind } from './generators/service/generator';
