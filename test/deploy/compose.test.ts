// docker-compose.yml beyond its shape (test/deploy-files.test.ts): the profiles, the stop grace period
// against the service's own shutdown grace, Redis started with the compose command line and asked what
// it runs with, and the sandbox profile's environment started as the real service and walked through
// the README's flow without a Vonage account. There is no Docker engine in CI; everything Docker would
// do with the file that matters here is done by hand.

import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { loadConfig, shutdownGraceMs } from '../../src/config';
import { testRedisUrl } from '../support/harness';
import { startRedisServer } from '../support/redis-server';
import { type ServiceProcess, startService } from '../support/service-process';
import { CONFIG_VARIABLES, composeEnvironment, durationMs, readCompose } from './files';

const compose = readCompose();
const OURS = ['otp', 'otp-replica', 'otp-sandbox'];
const PRODUCTION_VARS = {
  API_KEYS: 'billing:0123456789abcdef0123456789abcdef',
  VONAGE_API_KEY: 'abcd1234',
  VONAGE_API_SECRET: 'secret-0123456789',
};

function service(name: string) {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

describe('profiles', () => {
  test('every service of ours is in exactly one profile; Redis, which they all need, in none', () => {
    expect(Object.fromEntries(OURS.map((name) => [name, service(name).profiles]))).toEqual({
      otp: ['production'],
      'otp-replica': ['replicas'],
      'otp-sandbox': ['sandbox'],
    });
    expect(service('lb').profiles).toEqual(['replicas']);
    expect(service('redis').profiles).toBeUndefined();
  });

  test('the file substitutes with no variable set, so the sandbox profile needs no account', () => {
    // Compose substitutes every service, whatever profile is picked: one ${X:?} would stop them all.
    for (const name of Object.keys(compose.services)) {
      expect(() => composeEnvironment(compose, name, {})).not.toThrow();
    }
  });

  test('only one service publishes :3000 in each profile', () => {
    const publishing = OURS.filter((name) => (service(name).ports ?? []).some((p) => p.startsWith('3000:')));
    expect(publishing.sort()).toEqual(['otp', 'otp-sandbox']);
    expect(service('otp').profiles).not.toEqual(service('otp-sandbox').profiles);
  });
});

describe('stop_grace_period', () => {
  test.each(OURS)('%s: longer than the shutdown grace its own VONAGE_TIMEOUT_MS gives', (name) => {
    const vars = name === 'otp-sandbox' ? {} : PRODUCTION_VARS;
    const config = loadConfig(composeEnvironment(compose, name, vars));
    const grace = shutdownGraceMs(config);
    expect(grace).toBe(58_000);
    const period = durationMs(service(name).stop_grace_period ?? '10s');
    // Above the grace, with a few seconds for closing Redis and exiting; not absurdly long.
    expect(period).toBeGreaterThanOrEqual(grace + 3_000);
    expect(period).toBeLessThanOrEqual(grace + 30_000);
    expect(service(name).init).toBe(true);
  });
});

describe('Redis as compose runs it', () => {
  const command = service('redis').command;
  const args = (Array.isArray(command) ? command : String(command).split(/\s+/)).slice(1);
  const dir = mkdtempSync(join(tmpdir(), 'otp-compose-redis-'));
  let server: Awaited<ReturnType<typeof startRedisServer>>;

  beforeAll(async () => {
    // The compose command line as written, then only what a test needs: a data directory of its own.
    server = await startRedisServer({ args: [...args, '--dir', dir] });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('accepts the command line and runs with AOF, a maxmemory and noeviction', async () => {
    const config = async (name: string) => ((await server.command('CONFIG', 'GET', name)) as string[])[1];
    expect(await config('appendonly')).toBe('yes');
    expect(await config('appendfsync')).toBe('everysec');
    expect(await config('maxmemory-policy')).toBe('noeviction');
    // Without a maxmemory, noeviction never applies: Redis grows until the kernel kills it.
    expect(Number(await config('maxmemory'))).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  });

  test('refuses a write once full, instead of evicting a key (the service then answers 503)', async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
    try {
      await client.set('kept', 'x');
      await client.config('SET', 'maxmemory', '1');
      await expect(client.set('refused', 'y')).rejects.toThrow(/OOM/);
      expect(await client.get('kept')).toBe('x');
    } finally {
      client.disconnect();
    }
  });
});

/** An IPv4 address of this machine that is not loopback, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    const found = list?.find((address) => address.family === 'IPv4' && !address.internal);
    if (found) return found.address;
  }
  return undefined;
}

describe('profile "sandbox": the README walk-through without a Vonage account', () => {
  const prefix = `test:compose-sandbox:${process.pid}:`;
  const env = composeEnvironment(compose, 'otp-sandbox', {});
  let svc: ServiceProcess;

  beforeAll(async () => {
    // The service's environment exactly as compose sets it; only where Redis is and the port differ.
    svc = await startService({
      env: { ...env, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix, PORT: '0' },
      startTimeoutMs: 40_000,
    });
  }, 60_000);

  afterAll(async () => {
    await svc?.kill();
    const redis = new Redis(testRedisUrl());
    try {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
        keys.push(...(batch as string[]));
      }
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  test('its environment is a sandbox configuration; with NODE_ENV=production it would be refused', () => {
    expect(Object.keys(env).filter((key) => !CONFIG_VARIABLES.has(key))).toEqual([]);
    const config = loadConfig(env);
    expect(config.sandbox).toBe(true);
    expect(config.NODE_ENV).toBe('development');
    expect(config.REDIS_URL).toBe('redis://redis:6379/0');
    expect(config.REDIS_KEY_PREFIX).not.toBe(
      loadConfig(composeEnvironment(compose, 'otp', PRODUCTION_VARS)).REDIS_KEY_PREFIX,
    );
    expect(() => loadConfig({ ...env, NODE_ENV: 'production' })).toThrow(/sandbox mode/);
  });

  test('starts in sandbox mode over Redis and serves request, code, verify, status', async () => {
    expect(svc.logs.some((line) => /SANDBOX MODE/.test(line.msg))).toBe(true);
    expect(svc.logs.find((line) => line.msg.startsWith('listening'))?.store).toBe('redis');

    const call = async (path: string, body?: object) => {
      const res = await fetch(`${svc.url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { Authorization: 'Bearer dev-key', 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const requested = await call('/api/request-token', { phoneNumber: '+44 7400 123456' });
    expect(requested.status).toBe(201);
    const requestId = String(requested.body.requestId);
    const inbox = await call('/sandbox/messages?phoneNumber=%2B447400123456');
    const messages = inbox.body.messages as { requestId: string; code: string }[];
    const code = messages.find((m) => m.requestId === requestId)?.code;
    expect(code).toMatch(/^\d{6}$/);
    const verified = await call('/api/verify-token', { requestId, code });
    expect(verified).toEqual({
      status: 200,
      body: { verified: true, requestId, phoneNumber: '+447400123456' },
    });
    const status = await call(`/api/verifications/${requestId}`);
    expect(status.body.status).toBe('verified');
  });

  test('listens on every interface, so the port compose publishes reaches it', async () => {
    // Inside a container, Docker forwards the published port to the container's own address, not to
    // its loopback: a service bound to 127.0.0.1 would be unreachable.
    const address = externalAddress();
    if (!address) {
      console.warn('no non-loopback IPv4 address on this machine: checked 127.0.0.1 only');
    }
    const res = await fetch(`http://${address ?? '127.0.0.1'}:${svc.port}/healthz`);
    expect(res.status).toBe(200);
  });
});
