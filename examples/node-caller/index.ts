// A backend calling the OTP verification service with the typed client (clients/typescript): send a
// code, let the user type it in, verify it, read the verification's status. Against the sandbox the
// "user" reads the code from GET /sandbox/messages; with real Vonage it arrives by SMS.
//
//   OTP_URL=http://localhost:3000 OTP_API_KEY=dev-key PHONE=+447400123456 npx tsx examples/node-caller/index.ts
//
// Every step prints one JSON line; the process exits 1 at the first unexpected answer.

import { createOtpClient, type Problem } from '../../clients/typescript/src';

const baseUrl = process.env.OTP_URL ?? 'http://localhost:3000';
const apiKey = process.env.OTP_API_KEY ?? 'dev-key';
const phoneNumber = process.env.PHONE ?? '+447400123456';

const otp = createOtpClient({ baseUrl, apiKey });

function step(name: string, detail: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ step: name, ...detail })}\n`);
}

function fail(name: string, status: number, problem: Problem | undefined): never {
  step(name, { ok: false, status, code: problem?.code, detail: problem?.detail });
  process.exit(1);
}

/** Stands in for the user reading the SMS: only the sandbox has this route. */
async function codeFromSandbox(requestId: string): Promise<string> {
  const { data, response } = await otp.GET('/sandbox/messages', { params: { query: { phoneNumber } } });
  const code = data?.messages.find((message) => message.requestId === requestId)?.code;
  if (!code) {
    step('read-code', { ok: false, status: response.status, hint: 'is the service in sandbox mode?' });
    process.exit(1);
  }
  return code;
}

async function main(): Promise<void> {
  // 1. Send a code. 429 carries Retry-After; 409 verification_in_progress carries the live requestId.
  const sent = await otp.POST('/api/request-token', { body: { phoneNumber } });
  if (!sent.data) fail('request-token', sent.response.status, sent.error);
  const { requestId, expiresAt } = sent.data;
  step('request-token', {
    ok: true,
    status: sent.response.status,
    requestId,
    phoneNumber: sent.data.phoneNumber,
    expiresAt,
  });

  // 2. The user types a wrong code first: 422 code_mismatch, and the verification stays open.
  const code = await codeFromSandbox(requestId);
  const wrong = await otp.POST('/api/verify-token', {
    body: { requestId, code: code === '000000' ? '111111' : '000000' },
  });
  if (wrong.error?.code !== 'code_mismatch')
    fail('verify-token (wrong code)', wrong.response.status, wrong.error);
  step('verify-token', { ok: false, status: wrong.response.status, code: wrong.error.code, expected: true });

  // 3. Then the right one.
  const verified = await otp.POST('/api/verify-token', { body: { requestId, code } });
  if (!verified.data) fail('verify-token', verified.response.status, verified.error);
  step('verify-token', { ok: true, status: verified.response.status, verified: verified.data.verified });

  // 4. Its status, e.g. for an audit trail.
  const status = await otp.GET('/api/verifications/{requestId}', { params: { path: { requestId } } });
  if (!status.data) fail('status', status.response.status, status.error);
  step('status', { ok: true, status: status.data.status, finishedAt: status.data.finishedAt });
}

main().catch((error: unknown) => {
  step('error', { ok: false, message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
