// The fetch the Vonage SDK calls (issue 17): @vonage/server-client sends every Vonage call through the
// GLOBAL fetch and takes no fetch, agent or dispatcher of its own. Node's fetch builds WHATWG Request,
// Headers, Response and stream objects per call, about two thirds of the CPU of an SDK call. For the Vonage
// origin(s) only, this fetch hands the SDK's request straight to an undici Dispatcher (the service's
// keep-alive Agent, so connections are reused as before) and answers an AnswerResponse read in full; any
// other call, and anything it does not handle (a Request object, a non-string body, other init options,
// headers it would have to interpret), goes to the fetch it replaced, unchanged.
//
// Kept from fetch, because src/vonage/thrown.ts judges the SDK's errors by them: an abort through the
// signal rejects with the signal's reason (a DOMException named AbortError from the SDK's timeout); a
// network failure rejects with TypeError('fetch failed') carrying undici's error as `cause` (code
// ECONNREFUSED when nothing listens). The answer's body is read before the promise resolves, so a
// connection lost mid-body is that same TypeError (connection lost: outcome unknown), not a 2xx whose body
// the SDK cannot decode (which it would turn into a VetchError with status 200: upstream_error, as if the
// call had not been carried out). Redirects: Vonage's API does not redirect. A redirected GET or HEAD is
// sent again through the original fetch, which follows it (a silent-auth check URL redirects, for one);
// any other call's 3xx comes back as it is, and the SDK throws its VetchError (upstream_error) rather
// than have fetch re-send a POST elsewhere. No Accept-Encoding is sent; an answer compressed anyway (gzip,
// deflate, br) is decoded, as fetch would.

import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { AnswerHeaders, AnswerResponse } from './sdk-fetch-response';

type Fetch = typeof globalThis.fetch;

/** The fetch installed on the global, with the origins it sends directly (tests add theirs to one). */
const ORIGINS = Symbol.for('otp-verify-service.sdkFetch.origins');
type SdkFetch = Fetch & { [ORIGINS]: Set<string> };

/** The init options the SDK passes (`url` too, which fetch ignores); any other one goes to the fallback. */
const HANDLED_INIT = new Set(['method', 'headers', 'body', 'signal', 'url']);
/** Methods fetch upper-cases (PATCH it sends as given, so only as PATCH here); others go to the fallback. */
const METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** Request headers undici would refuse or interpret; a call that sets one goes to the fallback. */
const INTERPRETED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);

/**
 * Makes the global fetch send calls to `apiHost`'s origin through `dispatcher`. Called once, from the
 * process entry (src/server.ts), beside setGlobalDispatcher: the SDK only reads the global. Where this
 * fetch is installed already (tests build several services in one process), the origin is added to it.
 */
export function installSdkFetch(dispatcher: Dispatcher, apiHost: string): void {
  const current = globalThis.fetch as Partial<SdkFetch>;
  const origins = current[ORIGINS];
  if (origins) {
    origins.add(new URL(apiHost).origin);
    return;
  }
  globalThis.fetch = createSdkFetch(dispatcher, [apiHost], globalThis.fetch);
}

/** A fetch that sends calls to the origins of `apiHosts` through `dispatcher`, and others to `fallback`. */
export function createSdkFetch(dispatcher: Dispatcher, apiHosts: string[], fallback: Fetch): Fetch {
  const origins = new Set(apiHosts.map((host) => new URL(host).origin));
  const sdkFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const call = directCall(input, init, origins);
    if (!call) return fallback(input, init);
    const answer = send(dispatcher, call);
    // A redirect of a GET or HEAD (safe to send again) is left to fetch, which follows it.
    if (call.method !== 'GET' && call.method !== 'HEAD') return answer as unknown as Promise<Response>;
    return answer.then((response) =>
      isRedirect(response) ? fallback(input, init) : (response as unknown as Response),
    );
  };
  return Object.assign(sdkFetch, { [ORIGINS]: origins });
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function isRedirect(response: AnswerResponse): boolean {
  return REDIRECT_STATUSES.has(response.status) && response.headers.has('location');
}

interface DirectCall {
  url: string;
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

/** The call as the dispatcher takes it, or undefined when it is not one this fetch sends directly. */
function directCall(
  input: string | URL | Request,
  init: RequestInit | undefined,
  origins: Set<string>,
): DirectCall | undefined {
  const url = parsedUrl(input);
  if (!url || !origins.has(url.origin)) return undefined;
  const options = (init ?? {}) as Record<string, unknown>;
  for (const key in options) if (options[key] !== undefined && !HANDLED_INIT.has(key)) return undefined;
  const { body, signal } = options;
  if (body !== undefined && body !== null && typeof body !== 'string') return undefined;
  if (signal !== undefined && signal !== null && !isAbortSignal(signal)) return undefined;
  const method = methodOf(options.method);
  // fetch refuses a GET or HEAD with a body: the fallback says so.
  if (!method || (typeof body === 'string' && (method === 'GET' || method === 'HEAD'))) return undefined;
  const headers = requestHeaders(options.headers, typeof body === 'string');
  if (!headers) return undefined;
  const path = `${url.pathname}${url.search}`;
  return {
    url: url.hash ? url.href.slice(0, -url.hash.length) : url.href,
    origin: url.origin,
    path,
    method,
    headers,
    body: typeof body === 'string' ? body : undefined,
    signal: signal ?? undefined,
  };
}

function methodOf(given: unknown): string | undefined {
  if (given === undefined) return 'GET';
  if (typeof given !== 'string') return undefined;
  const upper = given.toUpperCase();
  return METHODS.has(upper) || given === 'PATCH' ? upper : undefined;
}

/** A URL string or URL object; undefined for a Request (or a URL fetch would refuse: the fallback says so). */
function parsedUrl(input: string | URL | Request): URL | undefined {
  if (input instanceof URL) return input;
  if (typeof input !== 'string') return undefined;
  try {
    return new URL(input);
  } catch {
    return undefined;
  }
}

/** By shape: the SDK's AbortController may come from another realm (a test sandbox). */
function isAbortSignal(value: unknown): value is AbortSignal {
  const signal = value as Partial<AbortSignal>;
  return typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function';
}

/**
 * The SDK's headers (a plain object of strings), with fetch's defaults where they are missing: Accept
 * `*\/*`, and text/plain for a string body. Undefined for anything else (a Headers object, an array, a
 * value that is not a string, a header undici would interpret).
 */
function requestHeaders(given: unknown, hasBody: boolean): Record<string, string> | undefined {
  if (given === undefined || given === null) given = {};
  if (typeof given !== 'object') return undefined;
  const prototype = Object.getPrototypeOf(given);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const record = given as Record<string, unknown>;
  let accept = false;
  let contentType = false;
  for (const name in record) {
    if (typeof record[name] !== 'string') return undefined;
    const lower = name.toLowerCase();
    if (INTERPRETED_HEADERS.has(lower)) return undefined;
    if (lower === 'accept') accept = true;
    else if (lower === 'content-type') contentType = true;
  }
  const headers = record as Record<string, string>;
  if (accept && (contentType || !hasBody)) return headers;
  return {
    ...headers,
    ...(accept ? {} : { accept: '*/*' }),
    ...(contentType || !hasBody ? {} : { 'content-type': 'text/plain;charset=UTF-8' }),
  };
}

function send(dispatcher: Dispatcher, call: DirectCall): Promise<AnswerResponse> {
  return new Promise<AnswerResponse>((resolve, reject) => {
    const handler = new BufferingHandler(call, resolve, reject);
    if (handler.settled) return;
    try {
      dispatcher.dispatch(
        {
          origin: call.origin,
          path: call.path,
          method: call.method as Dispatcher.HttpMethod,
          headers: call.headers,
          body: call.body ?? null,
        },
        handler,
      );
    } catch (error) {
      handler.onError(error as Error);
    }
  });
}

/**
 * Collects one answer in full, then resolves with it; rejects as fetch does on a network failure or an
 * abort. After it has settled, whatever undici still reports (the error an abort causes) is ignored.
 */
class BufferingHandler implements Dispatcher.DispatchHandlers {
  settled = false;
  private abortCall: ((reason?: Error) => void) | undefined;
  private status = 0;
  private statusText = '';
  private headers: AnswerHeaders | undefined;
  private readonly chunks: Buffer[] = [];
  private readonly onAbort = () => this.aborted();

  constructor(
    private readonly call: DirectCall,
    private readonly resolve: (response: AnswerResponse) => void,
    private readonly reject: (reason: unknown) => void,
  ) {
    const { signal } = call;
    if (signal?.aborted) this.aborted();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.settled) abort(abortError(this.call.signal));
    else this.abortCall = abort;
  }

  onHeaders(status: number, raw: Buffer[], _resume: () => void, statusText: string): boolean {
    // 1xx answers are interim; the final one follows.
    if (status < 200) return true;
    this.status = status;
    this.statusText = statusText;
    this.headers = AnswerHeaders.fromRaw(raw);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    const headers = this.headers ?? AnswerHeaders.fromRaw([]);
    let bytes: Buffer;
    try {
      bytes = decoded(Buffer.concat(this.chunks), headers.get('content-encoding'));
    } catch (error) {
      this.onError(error as Error);
      return;
    }
    this.settle();
    const { url, method } = this.call;
    const response = new AnswerResponse({
      url,
      method,
      status: this.status,
      statusText: this.statusText,
      headers,
      bytes,
    });
    // undici hands the connection back to its pool with a setImmediate queued after this returns
    // (client-h1, one request per connection): resolving behind it lets a caller that sends its next
    // call at once reuse this connection instead of opening another.
    queueMicrotask(() => setImmediate(() => this.resolve(response)));
  }

  onError(error: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(new TypeError('fetch failed', { cause: error }));
  }

  onUpgrade(): void {
    this.onError(new Error('unexpected protocol upgrade'));
  }

  private aborted(): void {
    if (this.settled) return;
    this.settle();
    this.reject(this.call.signal?.reason ?? abortError(undefined));
    this.abortCall?.(abortError(this.call.signal));
  }

  private settle(): void {
    this.settled = true;
    this.call.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** What an abort tells undici: the signal's reason when it is an Error (fetch rejects with the reason as it is). */
function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

/** The body as fetch would hand it over: one gzip, deflate or br coding undone; any other left as it is. */
function decoded(bytes: Buffer, coding: string | null): Buffer {
  if (coding === null || bytes.length === 0) return bytes;
  switch (coding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(bytes);
    case 'deflate':
      // zlib-wrapped (RFC 1950) or, as some servers send it, raw deflate; fetch accepts both.
      return ((bytes[0] ?? 0) & 0x0f) === 0x08 ? inflateSync(bytes) : inflateRawSync(bytes);
    case 'br':
      return brotliDecompressSync(bytes);
    default:
      return bytes;
  }
}
