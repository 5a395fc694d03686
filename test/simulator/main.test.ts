// `npm run simulator` runs either API's simulator alone: v1 by default, v2 with `-- v2` or SIMULATOR_API=v2.

import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Starts src/simulator/main.ts; resolves with its first output line (or all output if it exits), then stops it. */
function firstLine(
  args: string[],
  env: Record<string, string>,
): Promise<{ line: string; code: number | null }> {
  const proc = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/simulator/main.ts', ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', SIMULATOR_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no output: ${out}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n') && proc.exitCode === null) {
        clearTimeout(timer);
        proc.once('exit', () => resolve({ line: out, code: null }));
        proc.kill('SIGTERM');
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ line: out, code });
    });
  });
}

test.each([
  ['no argument', [], {}, /Verify v1 simulator listening on http:\/\/127\.0\.0\.1:\d+/],
  ['-- v2', ['v2'], {}, /Verify v2 simulator listening on http:\/\/127\.0\.0\.1:\d+/],
  ['SIMULATOR_API=v2', [], { SIMULATOR_API: 'v2' }, /Verify v2 simulator listening/],
  ['-- v1 over SIMULATOR_API=v2', ['v1'], { SIMULATOR_API: 'v2' }, /Verify v1 simulator listening/],
])(
  'npm run simulator with %s',
  async (_name, args, env, expected) => {
    const { line } = await firstLine(args, env);
    expect(line).toMatch(expected);
  },
  30_000,
);

test('an unknown API is refused', async () => {
  const { line, code } = await firstLine(['v3'], {});
  expect(code).toBe(1);
  expect(line).toMatch(/unknown API "v3"/);
}, 30_000);
