import { ReynaError } from '../errors.js';
import type { Api } from './_api.js';
import { sha256Of } from './_scan.js';

/** A blob to send: its hash and size as planned, and how to read its bytes when its batch goes. */
export interface Outgoing {
  sha256: string;
  size: number;
  /** A name for messages (a path or a key). */
  name: string;
  read(): Promise<Buffer>;
}

/** How transfers go: batch size, parallel requests, and a progress callback. */
export interface TransferOptions {
  /** Bytes per upload batch (default 8 MiB); a larger blob goes alone. */
  batchBytes?: number;
  /** Blobs per upload batch (default 1000). */
  batchFiles?: number;
  /** Requests in flight at once (default 4 for uploads, 8 for downloads). */
  concurrency?: number;
  onProgress?: (progress: TransferProgress) => void;
}

export interface TransferProgress {
  direction: 'up' | 'down';
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure stops taking new items. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r) => r.status === 'rejected');
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
}

/** Groups blobs into batches of at most `bytes` and `files` each. */
export function batches<T extends { size: number }>(items: readonly T[], bytes: number, files: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && (size + item.size > bytes || current.length >= files)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Counts a transfer: finished files and bytes, plus the bytes of the requests still under way. */
function meter(direction: 'up' | 'down', totalFiles: number, totalBytes: number, options: TransferOptions) {
  let files = 0;
  let bytes = 0;
  const going = new Map<unknown, number>();
  const report = () => {
    let moving = bytes;
    for (const n of going.values()) moving += n;
    options.onProgress?.({ direction, files, totalFiles, bytes: moving, totalBytes });
  };
  report();
  return {
    get bytes() {
      return bytes;
    },
    /** A callback for the bytes of request `key` so far, when anyone is watching. */
    moving(key: unknown, most: number) {
      if (!options.onProgress) return undefined;
      return (n: number) => {
        going.set(key, Math.min(n, most));
        report();
      };
    },
    /** Request `key` ended: with `count` files and `size` bytes done, or with none when it failed. */
    end(key: unknown, count = 0, size = 0) {
      going.delete(key);
      files += count;
      bytes += size;
      if (count > 0) report();
    },
  };
}

/**
 * Uploads blobs in batches (`POST /v1/blobs/batch`, all or nothing each), several at once. Each file is read when
 * its batch goes and checked against the planned hash, so a file edited since the plan is not sent under a
 * wrong name. Answers the bytes sent.
 */
export async function uploadBlobs(api: Api, items: Outgoing[], options: TransferOptions = {}): Promise<number> {
  const groups = batches(items, options.batchBytes ?? 8 * 1024 * 1024, options.batchFiles ?? 1000);
  const progress = meter(
    'up',
    items.length,
    items.reduce((sum, i) => sum + i.size, 0),
    options,
  );
  await inParallel(groups, options.concurrency ?? 4, async (group) => {
    const parts: Buffer[] = [];
    let groupBytes = 0;
    for (const item of group) {
      const data = await item.read();
      if (data.byteLength !== item.size || sha256Of(data) !== item.sha256) {
        throw new ReynaError('E_FILE_CHANGED', `${item.name} changed while it was being sent`, {
          hint: 'Run the command again: it sends only what the server still lacks.',
        });
      }
      parts.push(Buffer.from(`${item.sha256} ${data.byteLength}\n`, 'latin1'), data);
      groupBytes += data.byteLength;
    }
    try {
      await api.uploadBatch(Buffer.concat(parts), progress.moving(group, groupBytes));
    } catch (error) {
      progress.end(group);
      throw error;
    }
    progress.end(group, group.length, groupBytes);
  });
  return progress.bytes;
}

/** Downloads blobs (each checked against its hash) and hands each to `write`. Answers the bytes received. */
export async function downloadBlobs(
  api: Api,
  items: { sha256: string; size: number }[],
  write: (sha256: string, data: Buffer) => Promise<void>,
  options: TransferOptions = {},
): Promise<number> {
  const progress = meter(
    'down',
    items.length,
    items.reduce((sum, i) => sum + i.size, 0),
    options,
  );
  await inParallel(items, options.concurrency ?? 8, async (item) => {
    let data: Buffer;
    try {
      data = await api.blob(item.sha256, progress.moving(item, item.size));
      if (sha256Of(data) !== item.sha256) {
        throw new ReynaError('E_HASH_MISMATCH', `Blob ${item.sha256} arrived with other bytes`, {
          hint: 'Run the command again; if it persists, the server’s copy is damaged.',
        });
      }
      await write(item.sha256, data);
    } catch (error) {
      progress.end(item);
      throw error;
    }
    progress.end(item, 1, data.byteLength);
  });
  return progress.bytes;
}
