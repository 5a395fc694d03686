// The two JWTs of Verify v2, with node:crypto only: the RS256 Bearer token the SDK signs with the
// application's private key (checked here against its public key), and the HS256 token Vonage puts on
// callbacks (signed here with the signature secret, `payload_hash` = SHA-256 hex of the body bytes).

import { createHash, createHmac, createPublicKey, type KeyObject, randomUUID, verify } from 'node:crypto';

export type JwtCheck = { ok: true } | { ok: false; reason: 'invalid' | 'expired' };

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function loadPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the application public key must be an RSA key');
  return key;
}

/**
 * A Bearer token is accepted when its header says RS256, its signature verifies with the application's
 * public key, `application_id` is the configured one and `exp` (required) is in the future.
 */
export function checkApplicationJwt(
  token: string,
  publicKey: KeyObject,
  applicationId: string,
  nowMs: number,
): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'invalid' };
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  const claims = decodeJson(claimsPart);
  if (!header || !claims || header.alg !== 'RS256') return { ok: false, reason: 'invalid' };
  const signed = Buffer.from(`${headerPart}.${claimsPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  if (!verify('RSA-SHA256', signed, publicKey, signature)) return { ok: false, reason: 'invalid' };
  if (claims.application_id !== applicationId) return { ok: false, reason: 'invalid' };
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'invalid' };
  if (claims.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}

export function sha256Hex(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** An HS256 JWT as Vonage signs callbacks: iat, jti, iss, api_key, application_id, payload_hash. */
export function signCallbackJwt(
  secret: string,
  claims: { apiKey: string; applicationId: string; payloadHash: string; iatSeconds: number },
): string {
  const header = base64urlJson({ alg: 'HS256', typ: 'JWT' });
  const payload = base64urlJson({
    iat: claims.iatSeconds,
    jti: randomUUID(),
    iss: 'Vonage',
    api_key: claims.apiKey,
    application_id: claims.applicationId,
    payload_hash: claims.payloadHash,
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
