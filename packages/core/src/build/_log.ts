import { createWriteStream, type WriteStream } from 'node:fs';
import { ReynaError } from '../errors.js';

/**
 * A build's log: each line is appended to `.reyna/builds/<id>.log` and given to the caller as it comes, so a slow
 * step shows what it does while it does it. The last 200 lines are kept for the build record.
 */
export class BuildLog {
  private readonly stream: WriteStream;
  readonly lines: string[] = [];
  constructor(
    readonly file: string,
    private readonly onLog?: (line: string) => void,
  ) {
    this.stream = createWriteStream(file, { flags: 'a' });
  }
  write = (text: string): void => {
    for (const line of text.replace(/\r/g, '').split('\n')) {
      if (line === '') continue;
      this.lines.push(line);
      if (this.lines.length > 200) this.lines.shift();
      this.stream.write(`${line}\n`);
      this.onLog?.(line);
    }
  };
  /** The line a failed build ends with. */
  failed(error: unknown): void {
    this.write(
      error instanceof ReynaError
        ? `error ${error.code}: ${error.message}`
        : `error: ${(error as Error).stack ?? String(error)}`,
    );
  }
  close(): Promise<void> {
    return new Promise((done) => this.stream.end(done));
  }
}
