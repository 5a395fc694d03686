// Jest global teardown: stops the redis-server that global-setup started, if it started one.

export default async function globalTeardown(): Promise<void> {
  globalThis.__TEST_REDIS__?.kill('SIGTERM');
}
