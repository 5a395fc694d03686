// REFERENCE server for the bench: the bare minimum of verify-token's work, to compare the service with.
// Express with express.json(), one Redis GET and one SET, one keep-alive POST to the Verify simulator.
// Env: PORT, REDIS_URL, REDIS_KEY_PREFIX, VONAGE_API_HOST, VONAGE_API_KEY, VONAGE_API_SECRET.

import express from 'express';
import Redis from 'ioredis';
import { Agent, request } from 'undici';

const port = Number(process.env.PORT ?? 3200);
const prefix = process.env.REDIS_KEY_PREFIX ?? 'bench-ref:';
const vonage = process.env.VONAGE_API_HOST ?? 'http://127.0.0.1:3100';
const basic = `Basic ${Buffer.from(`${process.env.VONAGE_API_KEY}:${process.env.VONAGE_API_SECRET}`).toString('base64')}`;

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 0 });
const dispatcher = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 128 });

const app = express();
app.disable('x-powered-by');
app.use(express.json());

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.post('/check', async (req, res) => {
  const body = req.body as { requestId?: unknown; code?: unknown };
  const requestId = String(body.requestId);
  const key = `${prefix}${requestId}`;
  try {
    const before = await redis.get(key);
    const answer = await request(`${vonage}/verify/check/json`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: requestId, code: String(body.code) }),
    });
    const result = (await answer.body.json()) as { status?: string };
    await redis.set(key, result.status ?? '?', 'PX', 600_000);
    if (result.status !== '0') {
      res.status(422).json({ verified: false, status: result.status, before });
      return;
    }
    res.json({ verified: true, requestId });
  } catch {
    res.status(500).json({ error: 'reference failed' });
  }
});

const server = app.listen(port, '127.0.0.1');
const stop = () => {
  server.close();
  server.closeAllConnections();
  redis.disconnect();
  void dispatcher.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
