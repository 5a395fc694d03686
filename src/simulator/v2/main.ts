// Standalone Verify v2 simulator (`tsx src/simulator/v2/main.ts`) for other services' local development:
// configured from SIMULATOR_* variables, stopped cleanly by SIGTERM/SIGINT. Without a public key it makes
// a throwaway RSA key pair and writes the private key to a file so a local SDK can sign with it.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, systemClock, VirtualClock } from '../../clock';
import { closeOnSignals, runEntry } from '../process';
import { startVerifyV2Simulator } from './simulator';

function readPort(raw: string | undefined): number {
  const port = Number(raw ?? 3101);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SIMULATOR_PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

/** The public key from SIMULATOR_PUBLIC_KEY (PEM text or a file path), or a fresh pair. */
function readPublicKey(): { publicKey: string; privateKeyFile?: string } {
  const raw = process.env.SIMULATOR_PUBLIC_KEY;
  if (raw) return { publicKey: raw.includes('-----BEGIN') ? raw : readFileSync(raw, 'utf8') };
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const dir = mkdtempSync(join(tmpdir(), 'verify-v2-simulator-'));
  const privateKeyFile = join(dir, 'private.key');
  writeFileSync(privateKeyFile, pair.privateKey, { mode: 0o600 });
  return { publicKey: pair.publicKey, privateKeyFile };
}

async function main(): Promise<void> {
  const applicationId = process.env.SIMULATOR_APPLICATION_ID || 'sandbox-application';
  const { publicKey, privateKeyFile } = readPublicKey();
  const clock: Clock = process.env.SIMULATOR_VIRTUAL_CLOCK === 'true' ? new VirtualClock() : systemClock;
  const sim = await startVerifyV2Simulator({
    port: readPort(process.env.SIMULATOR_PORT),
    host: process.env.SIMULATOR_HOST || '127.0.0.1',
    applicationId,
    publicKey,
    callbackUrl: process.env.SIMULATOR_CALLBACK_URL || undefined,
    signatureSecret: process.env.SIMULATOR_SIGNATURE_SECRET || undefined,
    clock,
  });
  const key = privateKeyFile ?? '<the private key matching SIMULATOR_PUBLIC_KEY>';
  console.log(
    `Vonage Verify v2 simulator listening on ${sim.url} (${clock === systemClock ? 'real' : 'virtual'} clock): ` +
      `new Vonage({ applicationId: '${applicationId}', privateKey: '${key}' }, { apiHost: '${sim.url}' }).verify2; ` +
      `callbacks ${process.env.SIMULATOR_CALLBACK_URL ? 'to SIMULATOR_CALLBACK_URL' : 'off (set SIMULATOR_CALLBACK_URL)'}; ` +
      `control API under ${sim.url}/_simulator/`,
  );

  closeOnSignals(() => sim.close());
}

runEntry(main);
