// The fetch the Vonage SDK calls (src/vonage/sdk-fetch.ts), over real HTTP to a local server: what the
// server receives and what the caller reads back, the SDK's own error shapes through it (VetchError with
// the Response, v2 problem JSON), and fetch's failure semantics that src/vonage/thrown.ts relies on
// (AbortError, ECONNREFUSED, a lost connection), plus the calls it must leave to the original fetch.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Auth } from '@vonage/auth';
import { Vonage } from '@vonage/server-sdk';
import { Channels } from '@vonage/verify2';
import { VetchError } from '@vonage/vetch';
import { Agent } from 'undici';
import { ApiError } from '../../src/errors';
import { createSdkFetch, installSdkFetch } from '../../src/vonage/sdk-fetch';
import { isOutcomeUnknown, mapThrown } from '../../src/vonage/thrown';
import { v2Application } from '../support/harness';
import { freePort } from '../support/net';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let origin: string;
let handler: Handler;
const seen: Seen[] = [];
const sockets = new Set<Socket>();
let connections = 0;
let agent: Agent;
/** Stands in for the original fetch: records what it was given. */
let fallbackCalls: unknown[][];
const fallback = (async (...args: unknown[]) => {
  fallbackCalls.push(args);
  return new Response('from the original fetch');
}) as typeof fetch;
let sdkFetch: typeof fetch;
const originalFetch = globalThis.fetch;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  agent = new Agent({ keepAliveTimeout: 30_000 });
  sdkFetch = createSdkFetch(agent, [origin], fallback);
  fallbackCalls = [];
  seen.length = 0;
  connections = 0;
  handler = (_req, res) => res.end('{}');
});

afterEach(async () => {
  await agent.destroy();
  for (const socket of sockets) socket.destroy();
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Answers nothing until the test says so; `received` resolves when the request is in. */
function holdAnswers(): { received: Promise<ServerResponse> } {
  let arrived: (res: ServerResponse) => void = () => {};
  const received = new Promise<ServerResponse>((resolve) => {
    arrived = resolve;
  });
  handler = (req, res) => (req.url === '/answered' ? res.end('answered') : arrived(res));
  return { received };
}

async function rejection(work: Promise<unknown>): Promise<Error & { cause?: { code?: string } }> {
  try {
    await work;
  } catch (error) {
    return error as Error & { cause?: { code?: string } };
  }
  throw new Error('expected a rejection');
}

describe('an answer, passed through', () => {
  test('status, status text, headers (case-insensitive, several values joined, in name order), body, url', async () => {
    handler = (_req, res) => {
      res.writeHead(201, 'Created Here', [
        ['Content-Type', 'application/json; charset=utf-8'],
        ['X-Trace', 'a'],
        ['X-Trace', 'b'],
        ['Retry-After', '7'],
      ]);
      res.end('{"request_id":"abc","status":"0"}');
    };
    const res = await sdkFetch(`${origin}/verify/json?x=1#fragment`, {
      method: 'POST',
      headers: { 'user-agent': 'test-agent', 'content-type': 'application/json' },
      body: '{"number":"447700900000"}',
    });

    expect([res.status, res.ok, res.statusText, res.url]).toEqual([
      201,
      true,
      'Created Here',
      `${origin}/verify/json?x=1`,
    ]);
    expect(res.headers.get('CONTENT-TYPE')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-trace')).toBe('a, b');
    expect(res.headers.get('missing')).toBeNull();
    expect([res.headers.has('Retry-After'), res.headers.has('nope')]).toEqual([true, false]);
    const names = [...res.headers].map(([name]) => name);
    expect(names).toEqual([...names].sort());
    expect(Object.fromEntries(res.headers.entries())).toMatchObject({
      'retry-after': '7',
      'x-trace': 'a, b',
    });
    const viaForEach: string[] = [];
    res.headers.forEach((value, name) => {
      viaForEach.push(`${name}=${value}`);
    });
    expect(viaForEach).toContain('retry-after=7');
    expect(res.body).toBeTruthy();
    expect(await res.json()).toEqual({ request_id: 'abc', status: '0' });
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(TypeError);

    // What the server got: the method, path and query (no fragment), the SDK's headers, fetch's default
    // Accept, the body; and the original fetch was never asked.
    expect(seen).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/verify/json?x=1',
        body: '{"number":"447700900000"}',
        headers: expect.objectContaining({
          'user-agent': 'test-agent',
          'content-type': 'application/json',
          accept: '*/*',
          'content-length': '25',
        }),
      }),
    ]);
    expect(fallbackCalls).toEqual([]);
  });

  test('a GET without init; a 204 has a null body; a string body without a type is text/plain, as fetch sends it', async () => {
    handler = (req, res) => {
      res.statusCode = req.method === 'GET' ? 204 : 200;
      res.end();
    };
    const empty = await sdkFetch(`${origin}/v2/verify/x`);
    expect([empty.status, empty.body, await empty.text()]).toEqual([204, null, '']);
    await sdkFetch(`${origin}/plain`, { method: 'post', body: 'hi' });
    expect(seen.map((s) => [s.method, s.headers['content-type']])).toEqual([
      ['GET', undefined],
      ['POST', 'text/plain;charset=UTF-8'],
    ]);
  });

  test('a redirected GET is left to the original fetch, which follows it', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: `${origin}/elsewhere` });
      res.end();
    };
    const res = await sdkFetch(`${origin}/v2/verify/x/silent-auth/redirect`);
    expect(await res.text()).toBe('from the original fetch');
    expect(fallbackCalls).toEqual([[`${origin}/v2/verify/x/silent-auth/redirect`, undefined]]);
  });

  test('a redirected POST is not followed: the 3xx comes back as it is', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: `${origin}/elsewhere` });
      res.end();
    };
    const res = await sdkFetch(`${origin}/verify/json`, { method: 'POST', body: '{}' });
    expect([res.status, res.ok, res.headers.get('location')]).toEqual([302, false, `${origin}/elsewhere`]);
    expect(seen.map((s) => s.url)).toEqual(['/verify/json']);
  });

  test('a gzip answer (not asked for) is decoded, as fetch would', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync('{"status":"0"}'));
    };
    const res = await sdkFetch(`${origin}/verify/json`, { method: 'POST', body: '{}' });
    expect(await res.json()).toEqual({ status: '0' });
    expect(seen[0]?.headers['accept-encoding']).toBeUndefined();
  });

  test('connections are reused: 50 calls, one after another, open one TCP connection', async () => {
    for (let i = 0; i < 50; i++) {
      const res = await sdkFetch(`${origin}/verify/check/json`, { method: 'POST', body: '{}' });
      await res.text();
    }
    // Each next call is sent as soon as the answer is in: the connection must be back in the pool by then.
    expect(connections).toBe(1);
  });
});

describe('through the Vonage SDK', () => {
  const v1 = () => new Vonage(new Auth({ apiKey: 'k', apiSecret: 's' }), { apiHost: origin, timeout: 2000 });

  beforeEach(() => {
    installSdkFetch(agent, origin);
  });

  afterEach(() => {
    globalThis.fetch = originalFetch;
  });

  test('a v1 answer is decoded by the SDK', async () => {
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"request_id":"r-1","status":"0"}');
    };
    await expect(v1().verify.start({ number: '447700900000', brand: 'B' })).resolves.toMatchObject({
      request_id: 'r-1',
      status: '0',
    });
    expect(seen).toHaveLength(1);
  });

  test('SDK calls one after another, as a flow makes them, share one TCP connection', async () => {
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"request_id":"r-1","status":"0"}');
    };
    const vonage = v1();
    for (let i = 0; i < 20; i++) {
      await vonage.verify.start({ number: '447700900000', brand: 'B' });
      await vonage.verify.check('r-1', '1234');
    }
    expect([seen.length, connections]).toEqual([40, 1]);
  });

  test('HTTP 500: the SDK throws its VetchError carrying the Response status; upstream_error', async () => {
    handler = (_req, res) => {
      res.statusCode = 500;
      res.end('oops');
    };
    const error = await rejection(v1().verify.start({ number: '447700900000', brand: 'B' }));
    expect(error).toBeInstanceOf(VetchError);
    expect((error as unknown as { response: Response }).response.status).toBe(500);
    const mapped = mapThrown(error);
    expect([mapped.code, isOutcomeUnknown(mapped)]).toEqual(['upstream_error', false]);
  });

  test('a v2 problem answer: status, Retry-After and the problem JSON are readable from the error', async () => {
    handler = (_req, res) => {
      res.writeHead(409, { 'content-type': 'application/problem+json', 'retry-after': '30' });
      res.end('{"title":"Conflict","request_id":"r-9"}');
    };
    const app = v2Application();
    const vonage = new Vonage(new Auth({ applicationId: app.applicationId, privateKey: app.privateKey }), {
      apiHost: origin,
      timeout: 2000,
    });
    const error = await rejection(
      vonage.verify2.newRequest({ brand: 'B', workflow: [{ channel: Channels.SMS, to: '447700900000' }] }),
    );
    expect(error).toBeInstanceOf(VetchError);
    const response = (error as unknown as { response: Response }).response;
    expect([response.status, response.headers.get('retry-after')]).toEqual([409, '30']);
    expect(await response.json()).toEqual({ title: 'Conflict', request_id: 'r-9' });
    expect(seen[0]?.headers.authorization).toMatch(/^Bearer /);
  });

  test('no answer within the SDK timeout: AbortError; upstream_timeout with the outcome unknown', async () => {
    holdAnswers();
    const vonage = new Vonage(new Auth({ apiKey: 'k', apiSecret: 's' }), { apiHost: origin, timeout: 100 });
    const error = await rejection(vonage.verify.start({ number: '447700900000', brand: 'B' }));
    expect(error.name).toBe('AbortError');
    const mapped = mapThrown(error);
    expect([mapped.code, isOutcomeUnknown(mapped)]).toEqual(['upstream_timeout', true]);
  });

  test('connection lost mid-body after a 200: TypeError, connection lost with the outcome unknown (not a known failure)', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"request_id":"r-', () => req.socket.destroy());
    };
    const error = await rejection(v1().verify.start({ number: '447700900000', brand: 'B' }));
    expect([error.name, error.message]).toEqual(['TypeError', 'fetch failed']);
    expect(error.cause).toBeInstanceOf(Error);
    const mapped = mapThrown(error);
    expect(mapped).toBeInstanceOf(ApiError);
    expect([mapped.code, isOutcomeUnknown(mapped)]).toEqual(['upstream_unavailable', true]);
  });
});

describe("fetch's failures", () => {
  const postAbortable = (controller: AbortController) =>
    sdkFetch(`${origin}/verify/json`, { method: 'POST', body: '{}', signal: controller.signal });

  test('abort while waiting for the answer: rejects with the AbortError DOMException', async () => {
    const { received } = holdAnswers();
    const controller = new AbortController();
    const pending = postAbortable(controller);
    await received;
    controller.abort();
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(DOMException);
    expect(error.name).toBe('AbortError');
  });

  test('abort after the headers, mid-body: AbortError too', async () => {
    const { received } = holdAnswers();
    const controller = new AbortController();
    const pending = postAbortable(controller);
    const res = await received;
    res.writeHead(200, { 'content-length': '10' });
    await new Promise((resolve) => res.write('{"a"', resolve));
    // The headers and part of the body are on their way: a round trip on another connection lets the
    // client read them first.
    expect(await (await sdkFetch(`${origin}/answered`)).text()).toBe('answered');
    controller.abort();
    expect((await rejection(pending)).name).toBe('AbortError');
  });

  test('an already aborted signal: rejects with its reason, nothing is sent', async () => {
    const controller = new AbortController();
    controller.abort(new DOMException('timed out', 'TimeoutError'));
    const error = await rejection(sdkFetch(`${origin}/verify/json`, { signal: controller.signal }));
    expect(error.name).toBe('TimeoutError');
    expect(seen).toEqual([]);
  });

  test("nothing listening: TypeError('fetch failed') whose cause has code ECONNREFUSED", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const refusedFetch = createSdkFetch(agent, [closed], fallback);
    const error = await rejection(refusedFetch(`${closed}/verify/json`, { method: 'POST', body: '{}' }));
    expect([error.name, error.message, error.cause?.code]).toEqual([
      'TypeError',
      'fetch failed',
      'ECONNREFUSED',
    ]);
    const mapped = mapThrown(error);
    expect([mapped.code, isOutcomeUnknown(mapped)]).toEqual(['upstream_unavailable', false]);
    expect(fallbackCalls).toEqual([]);
  });

  test("connection reset before any answer: TypeError('fetch failed') with the cause", async () => {
    handler = (req) => req.socket.destroy();
    const error = await rejection(sdkFetch(`${origin}/verify/json`, { method: 'POST', body: '{}' }));
    expect([error.name, error.message]).toEqual(['TypeError', 'fetch failed']);
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('calls left to the original fetch, unchanged', () => {
  test.each([
    ['another origin', () => ['http://127.0.0.1:1/verify/json', { method: 'POST', body: '{}' }]],
    ['the same host on another scheme', () => [origin.replace('http:', 'https:'), undefined]],
    ['a non-string body', () => [`${origin}/x`, { method: 'POST', body: new URLSearchParams('a=1') }]],
    ['a Headers object', () => [`${origin}/x`, { headers: new Headers({ a: '1' }) }]],
    ['an option it does not handle', () => [`${origin}/x`, { redirect: 'manual' }]],
    ['a header undici would interpret', () => [`${origin}/x`, { headers: { connection: 'close' } }]],
    ['a Request object', () => [new Request(`${origin}/x`), undefined]],
    ['a method fetch does not upper-case', () => [`${origin}/x`, { method: 'patch', body: '{}' }]],
    ['a GET with a body (fetch refuses it)', () => [`${origin}/x`, { method: 'GET', body: '{}' }]],
  ])('%s', async (_name, args) => {
    const [input, init] = args() as [string, RequestInit | undefined];
    const res = await sdkFetch(input, init);
    expect(await res.text()).toBe('from the original fetch');
    expect(fallbackCalls).toEqual([[input, init]]);
    expect(seen).toEqual([]);
  });
});

describe('installSdkFetch', () => {
  afterEach(() => {
    globalThis.fetch = originalFetch;
  });

  test('replaces the global fetch for its origin; a second install adds its origin instead of wrapping', async () => {
    const other = createServer((_req, res) => res.end('other'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      installSdkFetch(agent, `${origin}/ignored/path`);
      const installed = globalThis.fetch;
      expect(installed).not.toBe(originalFetch);
      installSdkFetch(agent, otherOrigin);
      expect(globalThis.fetch).toBe(installed);
      expect(await (await fetch(`${otherOrigin}/`)).text()).toBe('other');
      expect(await (await fetch(`${origin}/`)).text()).toBe('{}');
      expect(seen).toHaveLength(1);
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
