import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobStore, StagedBlob } from '../blob-store.js';
import { ApiError } from '../errors.js';

/** Blobs up to this size are held in memory between upload and commit. */
const IN_MEMORY_BYTES = 256 * 1024;

/**
 * Blob bytes as files `<root>/ab/<sha256>`, each written to a temp file, fsynced, then renamed into place. One level
 * of 256 directories (not two) so that a batch's renames share a few directory fsyncs.
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  private pathOf(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob> {
    const hash = createHash('sha256');
    let size = 0;
    // Small blobs stay in memory until commit, so a batch of thousands does its file work in parallel there;
    // larger ones spill to a temp file as they stream in.
    let held: Uint8Array[] | undefined = [];
    let tmp: string | undefined;
    let handle: FileHandle | undefined;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw tooLarge(maxBytes);
        hash.update(chunk);
        if (held && size <= IN_MEMORY_BYTES) {
          held.push(chunk.slice());
          continue;
        }
        if (!handle) {
          tmp = await this.tempPath();
          handle = await open(tmp, 'wx', 0o644);
          for (const part of held ?? []) await handle.write(part);
          held = undefined;
        }
        await handle.write(chunk);
      }
    } catch (error) {
      await handle?.close().catch(() => {});
      if (tmp) await rm(tmp, { force: true });
      throw error;
    }
    await handle?.close();
    const sha256 = hash.digest('hex');
    const final = this.pathOf(sha256);
    const bytes = held ? Buffer.concat(held) : undefined;
    return {
      sha256,
      size,
      commit: async () => {
        const from = tmp ?? (await this.tempPath());
        // fsync here rather than while streaming, so a batch can sync its blobs in parallel (several times faster).
        const out = await open(from, tmp ? 'r' : 'wx', 0o644);
        try {
          if (bytes) await out.writeFile(bytes);
          await out.datasync();
        } finally {
          await out.close();
        }
        await mkdir(dirname(final), { recursive: true });
        await rename(from, final);
        // The rename is durable only once its directory is synced.
        await this.syncDir(dirname(final));
      },
      discard: async () => {
        if (tmp) await rm(tmp, { force: true });
      },
    };
  }

  private readonly dirSyncs = new Map<string, Promise<void>>();

  /**
   * fsyncs a directory after a rename into it. Renames that finish while a sync is queued share it: a sync that
   * starts after a rename covers that rename, so a batch needs a few directory syncs instead of one per blob.
   */
  private syncDir(dir: string): Promise<void> {
    const queued = this.dirSyncs.get(dir);
    if (queued) return queued;
    const sync = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.dirSyncs.delete(dir);
        open(dir, 'r')
          .then(async (handle) => {
            try {
              await handle.sync();
            } finally {
              await handle.close();
            }
          })
          .then(resolve, reject);
      });
    });
    this.dirSyncs.set(dir, sync);
    return sync;
  }

  private async tempPath(): Promise<string> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    return join(tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
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
