// The SEED-STYLE PEER for the bench (issue 17): what a user of Vonage Verify would otherwise write, the
// design the Vonage tutorials teach. Express 5 + express.json() + @vonage/server-sdk, no Redis, no auth,
// no limits, no logging; the same two endpoints and JSON fields as the service, so the bench drives both
// with the same requests. The SDK's fetch runs on Node's default dispatcher, as in the tutorials.
// Env: PORT, VONAGE_API_HOST (the Verify simulator), VONAGE_API_KEY, VONAGE_API_SECRET.

import { Vonage } from '@vonage/server-sdk';
import express from 'express';

const port = Number(process.env.PORT ?? 3400);
const vonage = new Vonage(
  { apiKey: process.env.VONAGE_API_KEY ?? '', apiSecret: process.env.VONAGE_API_SECRET ?? '' },
  { apiHost: process.env.VONAGE_API_HOST ?? 'http://127.0.0.1:3100' },
);

interface VerifyResult {
  status?: string;
  request_id?: string;
  error_text?: string;
}

const app = express();
app.use(express.json());

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.post('/api/request-token', async (req, res) => {
  const { phoneNumber } = req.body as { phoneNumber?: string };
  try {
    const result = (await vonage.verify.start({
      number: String(phoneNumber).replace(/^\+/, ''),
      brand: 'Bench',
    })) as VerifyResult;
    if (result.status !== '0') {
      res.status(400).json({ error: result.error_text, status: result.status });
      return;
    }
    res.status(201).json({ requestId: result.request_id });
  } catch (error) {
    res.status(500).json({ error: String(error) });
  }
});

app.post('/api/verify-token', async (req, res) => {
  const { requestId, code } = req.body as { requestId?: string; code?: string };
  try {
    const result = (await vonage.verify.check(String(requestId), String(code))) as VerifyResult;
    if (result.status !== '0') {
      res.status(400).json({ verified: false, error: result.error_text, status: result.status });
      return;
    }
    res.json({ verified: true, requestId });
  } catch (error) {
    res.status(500).json({ error: String(error) });
  }
});

const server = app.listen(port, '127.0.0.1');
const stop = () => {
  server.close();
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
