// The standalone entry (src/simulator/v2/main.ts) as another team would run it: a separate process that
// makes a throwaway key pair when given no public key, says how to point the SDK at it, serves the real
// SDK, and stops on SIGTERM.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VerificationRequestParams } from '@vonage/verify2';
import { freshNumber, sdk } from './harness';

const ROOT = join(__dirname, '..', '..', '..');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

function startMain(env: Record<string, string>): Promise<string> {
  const proc = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/simulator/v2/main.ts'],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child = proc;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no start-up line: ${out}`)), 20_000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${out}`));
    });
  });
}

it('runs alone on a port, prints the SDK settings (a key file, never a key), serves the SDK, stops on SIGTERM', async () => {
  const line = await startMain({ SIMULATOR_PORT: '0', SIMULATOR_APPLICATION_ID: 'standalone-app' });
  expect(line).not.toContain('PRIVATE KEY');
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
  const keyFile = /privateKey: '([^']+)'/.exec(line)?.[1];
  expect(url).toBeDefined();
  expect(keyFile).toBeDefined();
  const vonage = sdk(url ?? '', readFileSync(keyFile ?? '', 'utf8'), 5000, 'standalone-app');
  const to = freshNumber();
  const { requestId } = await vonage.verify2.newRequest({
    brand: 'Acme',
    workflow: [{ channel: 'sms', to }],
  } as unknown as VerificationRequestParams);
  const listed = (await (await fetch(`${url}/_simulator/messages?to=${to}`)).json()) as {
    messages: { requestId: string; code: string }[];
  };
  expect(listed.messages[0]?.requestId).toBe(requestId);
  expect(await vonage.verify2.checkCode(requestId, listed.messages[0]?.code ?? '')).toBe('completed');

  const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
  child?.kill('SIGTERM');
  expect(await exited).toBe(0);
});
