// Configuration of Verify v2: choosing the API, the application credentials (the private key as PEM text
// or a path, checked to be an RSA private key at start-up and never quoted), and the refusal to start
// when DEBUG would make the Vonage SDK print the private key.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, debugEnables, loadConfig } from '../src/config';

const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const ec = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const V2 = {
  VONAGE_VERIFY_API: 'v2',
  VONAGE_APPLICATION_ID: 'c0ffee00-0000-4000-8000-000000000001',
  API_KEYS: 'billing:3f9c',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('choosing the Verify API', () => {
  test('v1 is the default; v2 with no credentials is a v2 sandbox', () => {
    expect(loadConfig({}).VONAGE_VERIFY_API).toBe('v1');
    const sandbox = loadConfig({ VONAGE_VERIFY_API: 'v2' });
    expect(sandbox.VONAGE_VERIFY_API).toBe('v2');
    expect(sandbox.sandbox).toBe(true);
    expect(problemsOf({ VONAGE_VERIFY_API: 'v3' })[0]).toMatch(/^VONAGE_VERIFY_API/);
  });

  test('v2 application credentials make it real (API_KEYS then required); v1 credentials do not count for v2', () => {
    const config = loadConfig({ ...V2, VONAGE_PRIVATE_KEY: rsa.privateKey });
    expect(config.sandbox).toBe(false);
    expect(config.VONAGE_PRIVATE_KEY).toBe(rsa.privateKey.trim());
    expect(problemsOf({ ...V2, API_KEYS: '', VONAGE_PRIVATE_KEY: rsa.privateKey })).toEqual([
      expect.stringMatching(/^API_KEYS/),
    ]);
    // v1 credentials with v2 chosen: refused, not silently a sandbox.
    expect(
      problemsOf({ VONAGE_VERIFY_API: 'v2', VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's', API_KEYS: 'a:b' }),
    ).toEqual([expect.stringMatching(/^VONAGE_VERIFY_API: is v2, but only v1 credentials/)]);
  });

  test('the application id and the private key go together', () => {
    expect(problemsOf({ ...V2 })).toEqual([expect.stringMatching(/^VONAGE_PRIVATE_KEY: set both/)]);
    expect(
      problemsOf({ VONAGE_VERIFY_API: 'v2', VONAGE_PRIVATE_KEY: rsa.privateKey, API_KEYS: 'a:b' }),
    ).toEqual([expect.stringMatching(/^VONAGE_PRIVATE_KEY: set both/)]);
  });

  test('VONAGE_WHATSAPP_FROM is an E.164 number', () => {
    expect(loadConfig({ VONAGE_WHATSAPP_FROM: '+447700900001' }).VONAGE_WHATSAPP_FROM).toBe('+447700900001');
    expect(problemsOf({ VONAGE_WHATSAPP_FROM: 'Acme' })[0]).toMatch(/^VONAGE_WHATSAPP_FROM/);
  });
});

describe('VONAGE_PRIVATE_KEY', () => {
  test('is read from a file path as well as PEM text (also with \\n escapes, as .env files write it)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'otp-key-')), 'private.key');
    writeFileSync(file, rsa.privateKey, { mode: 0o600 });
    expect(loadConfig({ ...V2, VONAGE_PRIVATE_KEY: file }).VONAGE_PRIVATE_KEY).toBe(rsa.privateKey);
    const escaped = rsa.privateKey.trim().replace(/\n/g, '\\n');
    expect(loadConfig({ ...V2, VONAGE_PRIVATE_KEY: escaped }).VONAGE_PRIVATE_KEY).toBe(rsa.privateKey.trim());
  });

  test.each([
    ['a missing path', '/nonexistent/private.key'],
    ['a public key', rsa.publicKey],
    ['an EC private key', ec.privateKey],
    ['a truncated PEM', `${rsa.privateKey.slice(0, 400)}\n-----END PRIVATE KEY-----`],
  ])('%s stops the start, and the key is never quoted', (_name, value) => {
    const problems = problemsOf({ ...V2, VONAGE_PRIVATE_KEY: value });
    expect(problems).toEqual([expect.stringMatching(/^VONAGE_PRIVATE_KEY: /)]);
    const body = value.split('\n')[1] ?? value;
    expect(problems.join('\n')).not.toContain(body.slice(0, 20));
  });
});

describe('DEBUG and the SDK debug output', () => {
  test.each([
    ['vonage:*', true],
    ['*', true],
    ['vonage:jwt:*', true],
    ['express:*,vonage:server-client', true],
    ['vonage*', true],
    ['express:*', false],
    ['*,-vonage:*', false],
    ['', false],
  ])('DEBUG=%p refuses to start: %p', (debug, refused) => {
    const problems = problemsOf({ DEBUG: debug });
    expect(problems.some((p) => /^DEBUG: .*private key/.test(p))).toBe(refused);
  });

  test("debugEnables follows the debug package's syntax", () => {
    expect(debugEnables('vonage:* -vonage:jwt:*', 'vonage:jwt:tokenGenerate')).toBe(false);
    expect(debugEnables('vonage:* -vonage:jwt:*', 'vonage:server-client')).toBe(true);
    expect(debugEnables('other', 'vonage:server-client')).toBe(false);
  });
});
