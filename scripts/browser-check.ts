// Browser check of the Swagger UI page (npm run test:browser): starts the service in sandbox mode on a free
// port, drives GET /docs in Debian's headless Chromium (Authorize with dev-key, try POST /api/request-token),
// checks the sandbox inbox got the code, fails on console errors (CSP violations included) and saves a
// full-page screenshot to screenshots/docs-request-token.png. Needs /usr/bin/chromium (apt-get install chromium).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

const ROOT = join(__dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'screenshots', 'docs-request-token.png');
const API_KEY = 'dev-key';
const PHONE_NUMBER = '+447400123456';
const START_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;
// Without the background-networking flags Chromium's connections are refused on a closed network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface SandboxMessage {
  requestId: string;
  number: string;
  code: string;
}

let failures = 0;
let service: ChildProcess | undefined;
let browser: Browser | undefined;
/** Set by SIGINT/SIGTERM: the handler cleans up and exits, the failing steps behind it stay quiet. */
let interrupted = false;

function log(line: string): void {
  if (!interrupted) console.log(line);
}

function pass(name: string): void {
  log(`PASS ${name}`);
}

function fail(name: string, detail: string): void {
  failures += 1;
  log(`FAIL ${name}: ${detail}`);
}

/** An error's message, without the browser's stderr dump Playwright appends to launch and timeout errors. */
function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\nBrowser logs:')[0]?.trim() ?? '';
}

/** Records a check; returns whether it passed. */
function check(name: string, ok: boolean, detail: string): boolean {
  if (ok) pass(name);
  else fail(name, detail);
  return ok;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Spawns the service in its own process group (tsx runs node as a child) and waits for its "listening" line. */
function startService(port: number): Promise<void> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/server.ts'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Empty values win over a developer's .env (dotenv does not override): sandbox mode, memory store, dev-key.
    env: {
      ...process.env,
      PORT: String(port),
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      VONAGE_API_KEY: '',
      VONAGE_API_SECRET: '',
      API_KEYS: '',
      REDIS_URL: '',
      ALLOWED_COUNTRIES: '',
    },
  });
  service = child;
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`service did not log "listening" within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
}

/** SIGTERM to the service's process group, SIGKILL if it has not exited within 5 s. */
async function stopService(): Promise<void> {
  const child = service;
  service = undefined;
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function cleanup(): Promise<void> {
  const open = browser;
  browser = undefined;
  await open?.close().catch(() => undefined);
  await stopService();
}

async function sandboxMessages(base: string): Promise<SandboxMessage[]> {
  const response = await fetch(`${base}/sandbox/messages`);
  const body = (await response.json()) as { messages?: SandboxMessage[] };
  return body.messages ?? [];
}

/** Polls the sandbox inbox: the simulator may deliver just after the API answered. */
async function waitForMessage(base: string, requestId: string): Promise<SandboxMessage | undefined> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const found = (await sandboxMessages(base)).find((message) => message.requestId === requestId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return undefined;
}

async function authorize(page: Page): Promise<void> {
  await page.locator('.auth-wrapper button.authorize').click();
  const modal = page.locator('.modal-ux');
  await modal.locator('input[aria-label="auth-bearer-value"]').fill(API_KEY);
  await modal.locator('button.modal-btn.authorize').click();
  // Authorized: the modal offers Logout (labelled "Remove authorization") instead of Authorize.
  await modal.getByRole('button', { name: 'Remove authorization' }).waitFor();
  await modal.locator('button.btn-done').click();
  await modal.waitFor({ state: 'detached' });
  check(
    'authorize',
    await page.locator('.auth-wrapper button.authorize.locked').isVisible(),
    'padlock not locked',
  );
}

/** Expands POST /api/request-token, sends the body, and returns the live response's status and body text. */
async function tryRequestToken(page: Page): Promise<{ status: string; body: string }> {
  const operation = page
    .locator('.opblock.opblock-post')
    .filter({ has: page.locator('[data-path="/api/request-token"]') });
  await operation.locator('.opblock-summary-control').click();
  const tryOut = operation.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click();
  await operation.locator('textarea.body-param__text').fill(JSON.stringify({ phoneNumber: PHONE_NUMBER }));
  await operation.locator('button.execute').click();
  const row = operation.locator('.live-responses-table tr.response').first();
  await row.waitFor();
  const status = (await row.locator('.response-col_status').textContent())?.trim() ?? '';
  const body = (await row.locator('.response-col_description pre').first().textContent()) ?? '';
  return { status, body };
}

async function run(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    fail('chromium', `${CHROMIUM} not found: install it with "apt-get install chromium" (as root)`);
    return;
  }
  const port = await freePort();
  await startService(port);
  const base = `http://127.0.0.1:${port}`;
  pass(`service started in sandbox mode on ${base}`);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    consoleErrors.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`);
  });

  try {
    const response = await page.goto(`${base}/docs`, { waitUntil: 'load' });
    check('GET /docs', response?.status() === 200, `status ${response?.status() ?? 'none'}`);
    await page.locator('.opblock').first().waitFor();
    pass('Swagger UI rendered the document');

    await authorize(page);

    const { status, body } = await tryRequestToken(page);
    check('POST /api/request-token answered 201', status === '201', `status "${status}", body ${body}`);
    const requestId = /"requestId"\s*:\s*"([^"]+)"/.exec(body)?.[1];
    if (check('response shows a requestId', requestId !== undefined, `body ${body}`) && requestId) {
      const message = await waitForMessage(base, requestId);
      check(
        `/sandbox/messages has the code for ${requestId}`,
        message !== undefined && message.number === PHONE_NUMBER,
        message ? `sent to ${message.number}` : 'no message for that requestId',
      );
    }
  } finally {
    if (!interrupted) await saveScreenshot(page);
    check('no console errors on the page', consoleErrors.length === 0, `\n  ${consoleErrors.join('\n  ')}`);
  }
}

async function saveScreenshot(page: Page): Promise<void> {
  mkdirSync(join(ROOT, 'screenshots'), { recursive: true });
  try {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    log(`screenshot: ${SCREENSHOT}`);
  } catch (error) {
    fail('screenshot', errorText(error));
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    console.log(`FAIL interrupted by ${signal}`);
    interrupted = true;
    void cleanup().finally(() => process.exit(1));
  });
}

run()
  .catch((error: unknown) => fail('browser check', errorText(error)))
  .finally(async () => {
    if (interrupted) return;
    await cleanup();
    console.log(failures === 0 ? 'PASS browser check' : `FAIL browser check (${failures} failed)`);
    process.exit(failures === 0 ? 0 : 1);
  });
