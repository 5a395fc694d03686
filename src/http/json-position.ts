// Where a JSON text stops being JSON: the offset, line and column of the first character that cannot
// continue it. JSON.parse's own message names a position only for some errors (and quotes the body in
// others), so the position given to callers is found here, by a small scanner that follows RFC 8259.

export interface JsonErrorPosition {
  /** 0-based offset of the offending character (the text's length when it ends too early). */
  position: number;
  line: number;
  column: number;
  /** The offending character, or undefined at the end of the text. */
  found: string | undefined;
}

class Stop {
  constructor(readonly at: number) {}
}

/** A recursive-descent JSON reader that only says where it had to stop. */
class JsonScanner {
  private i = 0;

  constructor(private readonly text: string) {}

  /** The offset of the first character that cannot continue the text as JSON, or undefined. */
  firstError(): number | undefined {
    try {
      this.value();
      this.space();
      if (this.i < this.text.length) this.fail();
      return undefined;
    } catch (error) {
      if (error instanceof Stop) return error.at;
      throw error;
    }
  }

  private peek(): string {
    return this.text.charAt(this.i);
  }

  private fail(): never {
    throw new Stop(this.i);
  }

  private space(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.peek())) this.i++;
  }

  private value(): void {
    this.space();
    const char = this.peek();
    if (char === '{') this.items('}', () => this.member());
    else if (char === '[') this.items(']', () => this.value());
    else if (char === '"') this.string();
    else if (char === 't') this.literal('true');
    else if (char === 'f') this.literal('false');
    else if (char === 'n') this.literal('null');
    else if (char === '-' || /[0-9]/.test(char)) this.number();
    else this.fail();
  }

  private member(): void {
    this.space();
    if (this.peek() !== '"') this.fail();
    this.string();
    this.space();
    if (this.peek() !== ':') this.fail();
    this.i++;
    this.value();
  }

  private items(close: string, item: () => void): void {
    this.i++;
    this.space();
    if (this.peek() === close) {
      this.i++;
      return;
    }
    for (;;) {
      item();
      this.space();
      if (this.peek() === close) {
        this.i++;
        return;
      }
      if (this.peek() !== ',') this.fail();
      this.i++;
    }
  }

  private literal(word: string): void {
    for (const char of word) {
      if (this.peek() !== char) this.fail();
      this.i++;
    }
  }

  private digits(): void {
    const from = this.i;
    while (/[0-9]/.test(this.peek())) this.i++;
    if (this.i === from) this.fail();
  }

  private number(): void {
    if (this.peek() === '-') this.i++;
    if (this.peek() === '0') this.i++;
    else this.digits();
    if (this.peek() === '.') {
      this.i++;
      this.digits();
    }
    if (/[eE]/.test(this.peek())) {
      this.i++;
      if (/[+-]/.test(this.peek())) this.i++;
      this.digits();
    }
  }

  private string(): void {
    this.i++;
    for (;;) {
      if (this.i >= this.text.length || this.peek() < ' ') this.fail();
      if (this.peek() === '"') break;
      if (this.peek() === '\\') this.escaped();
      this.i++;
    }
    this.i++;
  }

  private escaped(): void {
    this.i++;
    if (this.peek() !== 'u') {
      if (this.peek() === '' || !'"\\/bfnrt'.includes(this.peek())) this.fail();
      return;
    }
    for (let k = 0; k < 4; k++) {
      this.i++;
      if (!/[0-9a-fA-F]/.test(this.peek())) this.fail();
    }
  }
}

/** The first position at which the text is not JSON, or undefined when it is JSON. */
export function jsonErrorPosition(text: string): JsonErrorPosition | undefined {
  const position = new JsonScanner(text).firstError();
  if (position === undefined) return undefined;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - (before.lastIndexOf('\n') + 1) + 1;
  return { position, line, column, found: position < text.length ? text.charAt(position) : undefined };
}
