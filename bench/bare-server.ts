// BARE Express for the bench: answers the refused requests (401, 429) with problem JSON at once, without
// reading the body or touching Redis: the ceiling a refusal can reach on this machine. Env: PORT.

import express from 'express';

const port = Number(process.env.PORT ?? 3300);

const unauthorized = JSON.stringify({
  type: 'urn:otp-verify:problem:unauthorized',
  title: 'Unauthorized',
  status: 401,
  detail: 'Missing or unknown API key.',
  code: 'unauthorized',
});
const rateLimited = JSON.stringify({
  type: 'urn:otp-verify:problem:rate_limited',
  title: 'Too many requests',
  status: 429,
  detail: 'Rate limit reached: codes sent to this number (5/1h).',
  code: 'rate_limited',
  retryAfterSeconds: 3600,
});

const app = express();
app.disable('x-powered-by');
app.disable('etag');

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.post('/api/verify-token', (_req, res) => {
  res.status(401).type('application/problem+json').send(unauthorized);
});
app.post('/api/request-token', (_req, res) => {
  res.status(429).set('Retry-After', '3600').type('application/problem+json').send(rateLimited);
});

const server = app.listen(port, '127.0.0.1');
const stop = () => {
  server.close();
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
