// Builds what the bench runs: the service with its own `npm run build` (as the image does), and the bench's
// yardstick servers as plain CommonJS (TypeScript's transpileModule, no type check), so all run as node on
// JavaScript, without tsx's loader thread and its memory. The output lives under bench/results/ so
// node_modules resolves from the repository.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import ts from 'typescript';

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  esModuleInterop: true,
  resolveJsonModule: true,
  sourceMap: false,
};

function transpile(file: string, outDir: string): void {
  const output = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: OPTIONS, fileName: file });
  writeFileSync(join(outDir, basename(file).replace(/\.ts$/, '.js')), output.outputText);
}

/** Folders never compiled: build output and dependencies. */
const SKIPPED_DIRS = new Set(['node_modules', 'results']);

/** Transpiles every .ts file under `dir` into the same folder tree under `outDir`. */
export function transpileDir(dir: string, outDir: string, only?: (name: string) => boolean): void {
  mkdirSync(outDir, { recursive: true });
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(name)) transpileDir(join(dir, name), join(outDir, name), only);
      continue;
    }
    if (!name.endsWith('.ts') || name.endsWith('.d.ts') || (only && !only(name))) continue;
    transpile(join(dir, name), outDir);
  }
}

export function removeBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** `npm run build` of the checkout at `dir`, its output sent to `outDir` instead of dist/. */
export function buildWithNpm(dir: string, outDir: string): void {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '--silent', 'build', '--', '--outDir', outDir], {
    cwd: dir,
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0) throw new Error(`npm run build failed in ${dir} (exit ${result.status})`);
}
