// clients/ is current: regenerating the typed client and the Postman collection from the service's
// GET /openapi.json gives exactly the committed files, so an API change that is not regenerated
// (`npm run client:generate`) fails CI. The client is compiled by `npm run typecheck` and used end to
// end by test/clients/node-caller.test.ts; the collection is run by newman in test/clients/postman.test.ts.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const GENERATED = [
  'typescript/openapi.json',
  'typescript/src/schema.ts',
  'postman/otp-verify.postman_collection.json',
];

test('the committed clients are what the generator makes from /openapi.json today', () => {
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
      const committed = readFileSync(join(ROOT, 'clients', file), 'utf8');
      // On failure: run `npm run client:generate` and commit the result.
      expect({ file, current: fresh === committed }).toEqual({ file, current: true });
    }
    const types = readFileSync(join(dir, 'typescript/src/schema.ts'), 'utf8');
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
