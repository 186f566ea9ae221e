/** Pulls lines and exact byte counts out of a byte stream: the reader of the blob batch format. */
export class ByteReader {
  private buffer: Uint8Array = new Uint8Array(0);
  private readonly it: AsyncIterator<Uint8Array>;
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.it.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    if (this.buffer.length === 0) {
      this.buffer = next.value;
      return true;
    }
    const merged = new Uint8Array(this.buffer.length + next.value.length);
    merged.set(this.buffer);
    merged.set(next.value, this.buffer.length);
    this.buffer = merged;
    return true;
  }

  /** The next line without its `\n`, or undefined at a clean end; throws past `max` bytes. */
  async line(max: number): Promise<string | undefined> {
    for (;;) {
      const nl = this.buffer.indexOf(10);
      if (nl !== -1) {
        const text = Buffer.from(this.buffer.subarray(0, nl)).toString('latin1');
        this.buffer = this.buffer.subarray(nl + 1);
        return text;
      }
      if (this.buffer.length > max) throw new Error(`a header line is longer than ${max} bytes`);
      if (!(await this.fill())) {
        if (this.buffer.length === 0) return undefined;
        throw new Error('the body ends inside a header line');
      }
    }
  }

  /** Exactly `n` bytes as they arrive; throws when the stream ends first. */
  async *exactly(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.buffer.length === 0 && !(await this.fill()))
        throw new Error(`the body ends ${left} bytes short of a blob`);
      const take = Math.min(left, this.buffer.length);
      yield this.buffer.subarray(0, take);
      this.buffer = this.buffer.subarray(take);
      left -= take;
    }
  }
}
