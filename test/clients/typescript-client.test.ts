// clients/typescript/ is current: regenerating it from the service's GET /openapi.json gives exactly the
// committed files, so an API change that is not regenerated (`npm run client:generate`) fails CI. The
// client itself is compiled by `npm run typecheck`, and used end to end by test/clients/node-caller.test.ts.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const GENERATED = ['openapi.json', 'src/schema.ts'];

test('the committed client is what the generator makes from /openapi.json today', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otp-client-'));
  try {
    const run = spawnSync(TSX, ['scripts/generate-client.ts', '--out', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    for (const file of GENERATED) {
      const fresh = readFileSync(join(dir, file), 'utf8');
      const committed = readFileSync(join(ROOT, 'clients/typescript', file), 'utf8');
      // On failure: run `npm run client:generate` and commit the result.
      expect({ file, current: fresh === committed }).toEqual({ file, current: true });
    }
    const types = readFileSync(join(dir, 'src/schema.ts'), 'utf8');
    for (const route of [
      '/api/request-token',
      '/api/verify-token',
      '/api/verifications/{requestId}',
      '/sandbox/messages',
    ]) {
      expect(types).toContain(`"${route}": {`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
