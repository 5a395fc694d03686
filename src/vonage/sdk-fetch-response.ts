// The Response that sdk-fetch.ts answers with: an HTTP answer already read in full, offering what the
// Vonage SDK (@vonage/server-client's parseResponse, VetchError) and our gateways read of fetch's Response:
// status, ok, statusText, url, headers (get/has/entries/keys/values/forEach/iteration, case-insensitive),
// text(), json(), arrayBuffer(), bodyUsed and body. No WHATWG stream is made unless `body` is read.

/** Statuses whose fetch Response has a null body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Response headers by lower-case name, several values of one name joined with ", " as fetch does. */
export class AnswerHeaders implements Iterable<[string, string]> {
  private constructor(private readonly byName: Map<string, string>) {}

  /** From undici's raw headers: [name, value, name, value, ...] as bytes (latin1, as fetch reads them). */
  static fromRaw(raw: ReadonlyArray<Buffer | string>): AnswerHeaders {
    const byName = new Map<string, string>();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = latin1(raw[i]).toLowerCase();
      const value = latin1(raw[i + 1]).trim();
      const seen = byName.get(name);
      byName.set(name, seen === undefined ? value : `${seen}, ${value}`);
    }
    return new AnswerHeaders(byName);
  }

  get(name: string): string | null {
    return this.byName.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.byName.has(name.toLowerCase());
  }

  /** In name order, as fetch's Headers iterates. */
  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.byName.keys()].sort()) yield [name, this.byName.get(name) as string];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  forEach(callback: (value: string, name: string, headers: AnswerHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

function latin1(part: Buffer | string | undefined): string {
  if (part === undefined) return '';
  return typeof part === 'string' ? part : part.toString('latin1');
}

export interface AnswerInit {
  url: string;
  method: string;
  status: number;
  statusText: string;
  headers: AnswerHeaders;
  bytes: Buffer;
}

/**
 * A fetch-compatible Response over bytes already received. Its body can be read once, by text(), json()
 * or arrayBuffer(), as fetch's; `body` is a ReadableStream of the same bytes made on first use (for code
 * that only tests it, as the SDK does), or null where fetch's would be (HEAD, 204, 205, 304).
 */
export class AnswerResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: AnswerHeaders;
  readonly redirected = false;
  readonly type = 'basic';
  private readonly bytes: Buffer;
  private readonly nullBody: boolean;
  private stream: ReadableStream<Uint8Array> | undefined;
  private used = false;

  constructor(init: AnswerInit) {
    this.url = init.url;
    this.status = init.status;
    this.statusText = init.statusText;
    this.ok = init.status >= 200 && init.status <= 299;
    this.headers = init.headers;
    this.bytes = init.bytes;
    this.nullBody = init.method === 'HEAD' || NULL_BODY_STATUSES.has(init.status);
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.nullBody) return null;
    if (!this.stream) {
      const bytes = new Uint8Array(this.bytes);
      this.stream = new ReadableStream<Uint8Array>({
        start(controller) {
          if (bytes.length > 0) controller.enqueue(bytes);
          controller.close();
        },
      });
    }
    return this.stream;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  }

  /** UTF-8, a leading byte-order mark dropped, as fetch's text(). */
  async text(): Promise<string> {
    const bytes = this.consume();
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return bytes.toString('utf8', bom ? 3 : 0);
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  private consume(): Buffer {
    if (this.used) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    return this.bytes;
  }
}
