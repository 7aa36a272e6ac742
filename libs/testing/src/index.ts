export { TestResources, assertTestDatabase, testServers } from './lib/servers';
export type { TestEnv } from './lib/servers';
export { uniqueName, waitFor } from './lib/wait-for';
export type { WaitForOptions } from './lib/wait-for';
export { freePort, startBuiltApi, startBuiltApp } from './lib/apps';
export type { BuiltApi, BuiltApiOptions } from './lib/apps';
export { localServerPid, pauseServer } from './lib/pause';
export type { LocalServer, PausableServer } from './lib/pause';
