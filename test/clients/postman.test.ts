// clients/postman/: the Postman collection generated from the OpenAPI document, run by newman against
// the real service in sandbox mode (its own process). The "Sandbox flow" folder chains request-token ->
// the code read from GET /sandbox/messages -> verify-token -> the verification's status through
// collection variables; "Operations" checks the public routes against their documented schemas.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ServiceProcess, startService } from '../support/service-process';

const ROOT = resolve(__dirname, '..', '..');
const COLLECTION = join(ROOT, 'clients/postman/otp-verify.postman_collection.json');
let svc: ServiceProcess;
const dir = mkdtempSync(join(tmpdir(), 'otp-newman-'));

beforeAll(async () => {
  svc = await startService({ env: { PORT: '0', LOG_LEVEL: 'info' }, startTimeoutMs: 40_000 });
}, 60_000);

afterAll(async () => {
  await svc?.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface NewmanReport {
  run: {
    stats: { requests: { total: number; failed: number }; assertions: { total: number; failed: number } };
    executions: {
      item: { name: string };
      response?: { code: number };
      assertions?: { assertion: string; error?: unknown }[];
    }[];
    failures: { error: { message: string }; source: { name: string } }[];
  };
}

function newman(name: string, envVars: Record<string, string>): Promise<NewmanReport> {
  const report = join(dir, `${name}.json`);
  const args = ['run', COLLECTION, '--folder', 'Sandbox flow', '--folder', 'Operations'];
  for (const [key, value] of Object.entries(envVars)) args.push('--env-var', `${key}=${value}`);
  args.push('--reporters', 'json', '--reporter-json-export', report, '--timeout-request', '20000');
  return new Promise((done, fail) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/newman'), args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', () => {
      try {
        done(JSON.parse(readFileSync(report, 'utf8')) as NewmanReport);
      } catch {
        fail(new Error(`newman wrote no report:\n${output}`));
      }
    });
  });
}

test('the chained sandbox flow and the public routes pass every assertion', async () => {
  const report = await newman('flow', { baseUrl: svc.url, phoneNumber: '+447400123460' });
  const failures = report.run.failures.map((f) => `${f.source.name}: ${f.error.message}`);
  expect(failures).toEqual([]);
  const steps = report.run.executions.map((e) => `${e.item.name} -> ${e.response?.code}`);
  expect(steps).toEqual(
    expect.arrayContaining([
      '1. Send a code -> 201',
      '2. Read the code the simulator delivered -> 200',
      '3. Check the code -> 200',
      '4. See its status -> 200',
      'Liveness -> 200',
      'Readiness -> 200',
    ]),
  );
  // In this order: each step uses what the one before it stored.
  const flow = steps.filter((step) => /^\d\. /.test(step));
  expect(flow).toEqual([...flow].sort());
  const assertions = report.run.executions.flatMap((e) => e.assertions ?? []).map((a) => a.assertion);
  expect(assertions).toContain('the simulator delivered a code for this requestId');
  expect(report.run.stats.assertions.total).toBeGreaterThan(30);
}, 90_000);

test('its assertions fail when the service refuses (a wrong API key), so a green run means something', async () => {
  const report = await newman('refused', {
    baseUrl: svc.url,
    phoneNumber: '+447400123461',
    bearerToken: 'wrong-key',
  });
  const failed = report.run.failures.map((f) => f.source.name);
  expect(failed).toEqual(
    expect.arrayContaining(['1. Send a code', '3. Check the code', '4. See its status']),
  );
}, 90_000);

test('every POST under /api sends a fresh Idempotency-Key ({{$guid}}), and no other request sends one', () => {
  interface Item {
    name: string;
    item?: Item[];
    request?: {
      method?: string;
      url?: { path?: string[] };
      header?: { key: string; value: string; disabled?: boolean }[];
    };
  }
  const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as { item: Item[] };
  const requests: Item[] = [];
  const walk = (items: Item[]) => {
    for (const item of items) item.item ? walk(item.item) : requests.push(item);
  };
  walk(collection.item);
  const keyed = requests.map((item) => {
    const key = item.request?.header?.find((header) => header.key === 'Idempotency-Key');
    const apiPost = item.request?.method === 'POST' && item.request.url?.path?.[0] === 'api';
    return { name: item.name, apiPost, key: key && !key.disabled ? key.value : undefined };
  });
  expect(keyed.filter((item) => item.apiPost).length).toBeGreaterThanOrEqual(4);
  for (const item of keyed)
    expect({ ...item, key: item.key ?? null }).toEqual({ ...item, key: item.apiPost ? '{{$guid}}' : null });
});
