// Micro-benchmark of one Verify check call from the client's side (`npx tsx bench/micro-vonage.ts`, best
// pinned with `taskset -c 1`): through @vonage/server-sdk (global fetch, as the service calls it), through
// plain global fetch, and through undici.request (as the bench's reference server), 16 at a time against
// the simulator started here on core 0. Shows where verify-token's extra CPU over the reference goes.

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Vonage } from '@vonage/server-sdk';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { freePort, killAllNow, start, stopAll, waitReady } from './procs';

const CALLS = Number(process.env.MICRO_CALLS ?? 4000);
const CONCURRENCY = 16;
const KEY = 'micro-key';
const SECRET = 'micro-secret';

async function measure(name: string, call: () => Promise<unknown>): Promise<void> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CALLS) await call();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${name.padEnd(30)} ${(CALLS / seconds).toFixed(0).padStart(6)} calls/s  client CPU ${((cpu.user + cpu.system) / CALLS).toFixed(0).padStart(5)} µs/call`,
  );
}

async function main(): Promise<void> {
  // As src/server.ts does: the SDK's fetch goes through this keep-alive pool.
  setGlobalDispatcher(new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 128 }));
  const repo = join(__dirname, '..');
  const port = await freePort();
  const simulator = start({
    name: 'simulator',
    args: [
      '--import',
      pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
      join(repo, 'src', 'simulator', 'v1', 'main.ts'),
    ],
    cwd: repo,
    cpu: 0,
    env: { SIMULATOR_PORT: String(port), SIMULATOR_API_KEY: KEY, SIMULATOR_API_SECRET: SECRET },
  });
  process.once('exit', killAllNow);
  try {
    const host = `http://127.0.0.1:${port}`;
    await waitReady(simulator, `${host}/_simulator/stats`);
    const vonage = new Vonage({ apiKey: KEY, apiSecret: SECRET }, { apiHost: host, timeout: 10_000 });
    const headers = {
      authorization: `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`,
      'content-type': 'application/json',
    };
    const body = JSON.stringify({ request_id: '0123456789abcdef0123456789abcdef', code: '1234' });
    // An unknown request id: the simulator answers status 6 at once, the same work for all three clients.
    for (let round = 0; round < 2; round++) {
      await measure('SDK verify.check (fetch)', () =>
        vonage.verify.check('0123456789abcdef0123456789abcdef', '1234').catch(() => undefined),
      );
      await measure('global fetch POST', async () => {
        const response = await fetch(`${host}/verify/check/json`, { method: 'POST', headers, body });
        await response.json();
      });
      await measure('undici.request POST', async () => {
        const response = await request(`${host}/verify/check/json`, { method: 'POST', headers, body });
        await response.body.json();
      });
    }
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
