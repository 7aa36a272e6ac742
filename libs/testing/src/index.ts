export { TestResources, assertTestDatabase, testServers } from './lib/servers';
export type { TestEnv } from './lib/servers';
export { uniqueName, waitFor } from './lib/wait-for';
export type { WaitForOptions } from './lib/wait-for';
export { freePort, startBuiltApp } from './lib/apps';
