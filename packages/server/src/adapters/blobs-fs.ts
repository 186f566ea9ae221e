import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobStore, StagedBlob } from '../blob-store.js';
import { ApiError } from '../errors.js';

/** Blob bytes as files `<root>/ab/cd/<sha256>`, each written to a temp file, fsynced, then renamed into place. */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  private pathOf(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
    const handle = await open(tmp, 'wx', 0o644);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw tooLarge(maxBytes);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(tmp, { force: true });
      throw error;
    }
    await handle.close();
    const sha256 = hash.digest('hex');
    const final = this.pathOf(sha256);
    return {
      sha256,
      size,
      commit: async () => {
        await mkdir(dirname(final), { recursive: true });
        await rename(tmp, final);
        // The rename is durable only once its directory is synced.
        const dir = await open(dirname(final), 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      },
      discard: () => rm(tmp, { force: true }),
    };
  }

  async get(sha256: string): Promise<ReadableStream<Uint8Array> | undefined> {
    if (!(await this.has(sha256))) return undefined;
    return Readable.toWeb(createReadStream(this.pathOf(sha256))) as ReadableStream<Uint8Array>;
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}

export function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'E_BLOB_TOO_LARGE', `A blob may hold at most ${maxBytes} bytes`, {
    hint: `The limit is ${maxBytes} bytes (${(maxBytes / 1024 / 1024).toFixed(1)} MiB); the server admin sets it with REYNA_SERVER_BLOB_BYTES.`,
    details: { limit: maxBytes },
  });
}
