// Shared set-up for the Verify v2 simulator tests: a throwaway RSA key pair for the "Vonage application",
// a simulator on a virtual clock, the real @vonage/server-sdk verify2 client pointed at it with `apiHost`,
// a local receiver for its callbacks, and an independent JWT signer for forged tokens.

import { createHmac, createSign, generateKeyPairSync, randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Auth } from '@vonage/auth';
import { Vonage } from '@vonage/server-sdk';
import type { VetchError } from '@vonage/vetch';
import { VirtualClock } from '../../../src/clock';
import { type RunningV2Simulator, startVerifyV2Simulator } from '../../../src/simulator/v2';
import type { StartV2SimulatorOptions } from '../../../src/simulator/v2/simulator';

export const APPLICATION_ID = 'c0ffee00-0000-4000-8000-000000000001';
export const SIGNATURE_SECRET = 'test-signature-secret';
export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
export const SECOND = 1000;

function rsaPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** The application's key pair, and one that belongs to nobody. */
export const KEYS = rsaPair();
export const OTHER_KEYS = rsaPair();

export interface Harness {
  sim: RunningV2Simulator;
  clock: VirtualClock;
  vonage: Vonage;
}

const opened: RunningV2Simulator[] = [];
const receivers: Server[] = [];

export async function harness(
  options: Partial<StartV2SimulatorOptions> = {},
  sdkOptions: { timeout?: number } = {},
): Promise<Harness> {
  const clock = new VirtualClock(T0);
  const sim = await startVerifyV2Simulator({
    applicationId: APPLICATION_ID,
    publicKey: KEYS.publicKey,
    signatureSecret: SIGNATURE_SECRET,
    clock,
    callbackRetryDelayMs: 20,
    ...options,
  });
  opened.push(sim);
  return { sim, clock, vonage: sdk(sim.url, KEYS.privateKey, sdkOptions.timeout) };
}

export function sdk(url: string, privateKey: string, timeout = 5000, applicationId = APPLICATION_ID): Vonage {
  return new Vonage(new Auth({ applicationId, privateKey }), { apiHost: url, timeout });
}

export async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((sim) => sim.close()));
  await Promise.all(receivers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
}

const usedNumbers = new Set<string>();
/** A made-up UK mobile number no other test uses (digits only, as Verify v2 wants). */
export function freshNumber(prefix = '4477009'): string {
  for (;;) {
    const number = `${prefix}${String(randomInt(0, 100_000)).padStart(5, '0')}`;
    if (!usedNumbers.has(number)) {
      usedNumbers.add(number);
      return number;
    }
  }
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A callback endpoint: records every POST; answers `statuses` in turn, then 200. */
export async function callbackReceiver(
  statuses: number[] = [],
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  receivers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks/vonage/verify`, received };
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 token signed independently of the simulator and the SDK, for forged-credential cases. */
export function rs256Token(
  privateKey: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' },
): string {
  const unsigned = `${b64(header)}.${b64(claims)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}

export function hs256Token(secret: string, claims: Record<string, unknown>): string {
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export function validClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { application_id: APPLICATION_ID, iat, exp: iat + 900, jti: randomUUID(), ...extra };
}

/** Decodes a JWT's claims without checking anything. */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Status and problem body of an SDK failure (VetchError keeps the unread Response). */
export async function failure(
  promise: Promise<unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    const response = (error as VetchError).response;
    if (!response) throw error;
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  throw new Error('expected the SDK call to fail');
}

/** Plain HTTP to the simulator with a valid token, for what the SDK cannot send or hides. */
export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = rs256Token(KEYS.privateKey, validClaims()),
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
