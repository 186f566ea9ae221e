import { statSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../_fs.js';
import { contentTypeOf } from '../build/_mime.js';
import { ReynaError } from '../errors.js';
import {
  type Access,
  API_PREFIX,
  type BatchOp,
  BatchResponse,
  BLOB_LIST_LIMIT,
  type BlobEntry,
  BlobList,
  Bucket,
  BucketExport,
  BucketList,
  BucketObject,
  LinkList,
  MAX_BATCH_ITEMS,
  ObjectList,
  PublicLink,
  ShareList,
} from '../protocol/api.js';
import { pathProblem } from '../protocol/paths.js';
import { type Api, readBody } from '../sync/_api.js';
import type { Answer } from '../sync/_http.js';
import { hashFile, loadIgnore, scanTree, sha256Of } from '../sync/_scan.js';
import { downloadBlobs, inParallel, type Outgoing, uploadBlobs } from '../sync/_transfer.js';
import { openApi, type SyncOptions, type TransferSummary } from '../sync/index.js';

export type BucketOptions = SyncOptions;

const b = (id: string) => `${API_PREFIX}/buckets/${encodeURIComponent(id)}`;
const keyPath = (key: string) => key.split('/').map(encodeURIComponent).join('/');

// Blobs

export interface PutBlobResult {
  file: string;
  sha256: string;
  size: number;
  /** False when the server had the blob already (nothing was sent). */
  uploaded: boolean;
}

/** Uploads files as blobs (only those the server lacks) and answers their hashes. */
export async function putBlobs(
  options: BucketOptions & { files: string[] },
): Promise<{ server: string; blobs: PutBlobResult[]; summary: TransferSummary }> {
  const started = performance.now();
  const api = await openApi(options);
  const { blobs, bytesSent, totalBytes } = await sendFiles(
    api,
    options.files.map((f) => resolve(options.cwd, f)),
    options,
  );
  return {
    server: api.server,
    blobs: blobs.map((x, i) => ({ ...x, file: options.files[i] as string })),
    summary: summary(blobs.length, blobs.filter((x) => x.uploaded).length, bytesSent, 0, totalBytes, started),
  };
}

async function sendFiles(api: Api, abs: string[], options: BucketOptions) {
  const blobs: PutBlobResult[] = [];
  options.onStep?.('scan', 'start');
  for (const file of abs) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(file);
    } catch {
      throw new ReynaError('E_FILE_NOT_FOUND', `No file ${file}`, { hint: 'Check the path.' });
    }
    if (!info.isFile()) throw new ReynaError('E_NOT_A_FILE', `${file} is not a file`, { hint: 'Pass files.' });
    blobs.push({ file, sha256: await hashFile(file, info.size), size: info.size, uploaded: false });
  }
  options.onStep?.('scan', 'done', `${blobs.length} file${blobs.length === 1 ? '' : 's'} hashed`);
  options.onStep?.('compare', 'start');
  const missing = new Set(await api.missing([...new Set(blobs.map((x) => x.sha256))]));
  const outgoing: Outgoing[] = [];
  for (const x of blobs) {
    if (!missing.has(x.sha256)) continue;
    x.uploaded = true;
    missing.delete(x.sha256);
    outgoing.push({ sha256: x.sha256, size: x.size, name: x.file, read: () => readFile(x.file) });
  }
  options.onStep?.('compare', 'done', `${outgoing.length} to send`);
  options.onStep?.('upload', outgoing.length > 0 ? 'start' : 'skip');
  const bytesSent = outgoing.length > 0 ? await uploadBlobs(api, outgoing, options) : 0;
  if (outgoing.length > 0)
    options.onStep?.('upload', 'done', `${outgoing.length} file${outgoing.length === 1 ? '' : 's'}`);
  return { blobs, bytesSent, totalBytes: blobs.reduce((sum, x) => sum + x.size, 0) };
}

/** GETs one download with its progress reported (the size comes from Content-Length). */
async function downloadOne(api: Api, path: string, options: BucketOptions): Promise<{ res: Answer; data: Buffer }> {
  options.onStep?.('download', 'start');
  const res = await api.send({ method: 'GET', path });
  const totalBytes = Number(res.headers.get('content-length') ?? 0);
  const report = (files: number, bytes: number) =>
    options.onProgress?.({ direction: 'down', files, totalFiles: 1, bytes, totalBytes: Math.max(totalBytes, bytes) });
  report(0, 0);
  const data = await readBody(res, options.onProgress ? (bytes) => report(0, bytes) : undefined);
  report(1, data.byteLength);
  options.onStep?.('download', 'done', '1 file');
  return { res, data };
}

/** A blob's bytes, checked against its hash; written to `output` (atomically) when given. */
export async function getBlob(
  options: BucketOptions & { sha256: string; output?: string },
): Promise<{ sha256: string; size: number; data?: Buffer; output?: string; summary: TransferSummary }> {
  const started = performance.now();
  const api = await openApi(options);
  const { data } = await downloadOne(api, `${API_PREFIX}/blobs/${options.sha256}`, options);
  if (sha256Of(data) !== options.sha256)
    throw new ReynaError('E_HASH_MISMATCH', `Blob ${options.sha256} arrived with other bytes`, {
      hint: 'Try again; if it persists, the server’s copy is damaged.',
    });
  const base = { sha256: options.sha256, size: data.byteLength };
  if (options.output === undefined)
    return { ...base, data, summary: summary(1, 1, 0, data.byteLength, data.byteLength, started) };
  const output = resolve(options.cwd, options.output);
  await writeFileAtomic(output, data);
  return { ...base, output, summary: summary(1, 1, 0, data.byteLength, data.byteLength, started) };
}

/** Your blobs in hash order (only those whose hash starts with `prefix`), fetched a page at a time up to `limit`. */
export async function listBlobs(
  options: BucketOptions & { prefix?: string; limit?: number },
): Promise<{ server: string; blobs: BlobEntry[]; totalBytes: number; more: boolean }> {
  const prefix = (options.prefix ?? '').toLowerCase();
  if (!/^[0-9a-f]{0,64}$/.test(prefix))
    throw new ReynaError('E_INVALID_INPUT', `--prefix "${options.prefix}" is not the start of a SHA-256 hash`, {
      hint: 'Pass up to 64 hex digits, e.g. `reyna blob ls --prefix 9f86d0`.',
      exitCode: 2,
    });
  const api = await openApi(options);
  const blobs: BlobEntry[] = [];
  let cursor: string | null = null;
  do {
    const left = options.limit === undefined ? BLOB_LIST_LIMIT.max : options.limit - blobs.length;
    const query = new URLSearchParams({ limit: String(Math.min(left, BLOB_LIST_LIMIT.max)) });
    if (prefix) query.set('prefix', prefix);
    if (cursor) query.set('cursor', cursor);
    const page: BlobList = await api.json({ method: 'GET', path: `${API_PREFIX}/blobs?${query}` }, BlobList);
    blobs.push(...page.blobs);
    cursor = page.cursor;
  } while (cursor && (options.limit === undefined || blobs.length < options.limit));
  return {
    server: api.server,
    blobs,
    totalBytes: blobs.reduce((sum, x) => sum + x.size, 0),
    more: cursor !== null,
  };
}

// Buckets

/** A bucket by name (yours first, then those shared with you) or by id. */
export async function findBucket(api: Api, name: string): Promise<Bucket> {
  const { buckets } = await api.json({ method: 'GET', path: `${API_PREFIX}/buckets` }, BucketList);
  const found =
    buckets.find((x) => x.id === name) ??
    buckets.find((x) => x.name === name && x.access === 'owner') ??
    buckets.find((x) => x.name === name);
  if (!found)
    throw new ReynaError('E_BUCKET_NOT_FOUND', `No bucket "${name}"`, {
      hint: 'Run `reyna bucket ls` to see yours and those shared with you, or `reyna bucket create <NAME>`.',
    });
  return found;
}

export async function createBucket(options: BucketOptions & { name: string }) {
  const api = await openApi(options);
  const bucket = await api.json(
    { method: 'POST', path: `${API_PREFIX}/buckets`, json: { name: options.name }, retry: false },
    Bucket,
  );
  return { server: api.server, bucket };
}

export async function listBuckets(options: BucketOptions) {
  const api = await openApi(options);
  const { buckets } = await api.json({ method: 'GET', path: `${API_PREFIX}/buckets` }, BucketList);
  return { server: api.server, buckets };
}

export async function deleteBucket(options: BucketOptions & { name: string }) {
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  await api.send({ method: 'DELETE', path: b(bucket.id) });
  return { server: api.server, bucket };
}

/** Every object of a bucket under `prefix`, all pages. */
export async function allObjects(api: Api, bucketId: string, prefix = ''): Promise<BucketObject[]> {
  const out: BucketObject[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ prefix, limit: '1000', ...(cursor ? { cursor } : {}) });
    const page: ObjectList = await api.json({ method: 'GET', path: `${b(bucketId)}/objects?${query}` }, ObjectList);
    out.push(...page.objects);
    cursor = page.cursor;
  } while (cursor);
  return out;
}

export async function listObjects(options: BucketOptions & { name: string; prefix?: string }) {
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  return { server: api.server, bucket, objects: await allObjects(api, bucket.id, options.prefix ?? '') };
}

/** Uploads a file (when the server lacks its bytes) and points `key` (default: the file's name) at it. */
export async function putObject(options: BucketOptions & { name: string; file: string; key?: string }) {
  const started = performance.now();
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const file = resolve(options.cwd, options.file);
  const key = options.key ?? basename(file);
  const { blobs, bytesSent, totalBytes } = await sendFiles(api, [file], options);
  const blob = blobs[0] as PutBlobResult;
  options.onStep?.('commit', 'start');
  const object = await api.json(
    {
      method: 'PUT',
      path: `${b(bucket.id)}/objects/${keyPath(key)}`,
      json: { sha256: blob.sha256, contentType: contentTypeOf(key) },
    },
    BucketObject,
  );
  options.onStep?.('commit', 'done', key);
  return {
    server: api.server,
    bucket,
    object,
    summary: summary(1, blob.uploaded ? 1 : 0, bytesSent, 0, totalBytes, started),
  };
}

/** An object's bytes; written to `output` (atomically) when given. */
export async function getObject(options: BucketOptions & { name: string; key: string; output?: string }) {
  const started = performance.now();
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const { res, data } = await downloadOne(api, `${b(bucket.id)}/objects/${keyPath(options.key)}`, options);
  const sha256 = res.headers.get('x-reyna-sha256') ?? sha256Of(data);
  if (sha256Of(data) !== sha256)
    throw new ReynaError('E_HASH_MISMATCH', `"${options.key}" arrived with other bytes`, { hint: 'Try again.' });
  const base = {
    bucket,
    key: options.key,
    sha256,
    size: data.byteLength,
    contentType: res.headers.get('content-type'),
    summary: summary(1, 1, 0, data.byteLength, data.byteLength, started),
  };
  if (options.output === undefined) return { ...base, data };
  const output = resolve(options.cwd, options.output);
  await writeFileAtomic(output, data);
  return { ...base, output };
}

export async function shareBucket(options: BucketOptions & { name: string; user: string; access: Access | null }) {
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const path = `${b(bucket.id)}/shares/${encodeURIComponent(options.user)}`;
  const { shares } = await api.json(
    options.access === null ? { method: 'DELETE', path } : { method: 'PUT', path, json: { access: options.access } },
    ShareList,
  );
  return { server: api.server, bucket, shares };
}

/** Creates a public read-only link; answers it with its full URL. */
export async function linkBucket(options: BucketOptions & { name: string }) {
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const link = await api.json({ method: 'POST', path: `${b(bucket.id)}/links`, retry: false }, PublicLink);
  return { server: api.server, bucket, link, url: `${api.server}${link.path}` };
}

/** Revokes the bucket's public links (one, when `linkId` is given). */
export async function unlinkBucket(options: BucketOptions & { name: string; linkId?: string }) {
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const { links } = await api.json({ method: 'GET', path: `${b(bucket.id)}/links` }, LinkList);
  const live = links.filter((l) => l.revokedAt === null && (options.linkId === undefined || l.id === options.linkId));
  if (options.linkId !== undefined && live.length === 0)
    throw new ReynaError('E_LINK_NOT_FOUND', `No live link ${options.linkId} on "${bucket.name}"`, {
      hint: 'Run `reyna bucket unlink <NAME>` to revoke all of its links.',
    });
  const revoked: PublicLink[] = [];
  for (const l of live)
    revoked.push(
      await api.json({ method: 'DELETE', path: `${b(bucket.id)}/links/${encodeURIComponent(l.id)}` }, PublicLink),
    );
  return { server: api.server, bucket, revoked };
}

/** The bucket as one JSON document (objects with their bytes in base64), written to `output` when given. */
export async function exportBucket(options: BucketOptions & { name: string; output?: string }) {
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const data = await api.json({ method: 'GET', path: `${b(bucket.id)}/export?include=data` }, BucketExport);
  if (options.output === undefined) return { bucket, objects: data.objects.length, export: data };
  const output = resolve(options.cwd, options.output);
  await writeFileAtomic(output, `${JSON.stringify(data, null, 2)}\n`);
  return { bucket, objects: data.objects.length, output };
}

// Sync

export interface BucketSyncPlan {
  direction: 'up' | 'down';
  dir: string;
  bucket: Bucket;
  /** Keys (= paths under dir) whose content will be sent or written. */
  transfer: { key: string; sha256: string; size: number }[];
  /** Keys (up) or files (down) removed, with --delete. */
  remove: string[];
  /** Blobs the server lacks (up only). */
  upload: number;
  unchanged: number;
}

export interface BucketSyncResult {
  plan: BucketSyncPlan;
  dryRun: boolean;
  summary: TransferSummary;
}

/** Bucket sync ignores only VCS data and Reyna's local state; .reynaignore in the directory adds to that. */
const BUCKET_IGNORES = ['.git/', '.reyna/', '*.reyna-*.tmp'];

/**
 * `aws s3 sync` for buckets: the side that changes is made equal to the other, sending only changed content
 * through the content-addressed transfer. Up: blobs the server lacks, then key updates in batches of 100. Down:
 * objects whose bytes differ from the local file. `--delete` removes what the source does not have.
 */
export async function syncBucket(
  options: BucketOptions & { dir: string; name: string; direction: 'up' | 'down'; delete?: boolean; dryRun?: boolean },
): Promise<BucketSyncResult> {
  const started = performance.now();
  const api = await openApi(options);
  const bucket = await findBucket(api, options.name);
  const dir = resolve(options.cwd, options.dir);
  const remote = new Map((await allObjects(api, bucket.id)).map((o) => [o.key, o]));
  let local = new Map<string, { sha256: string; size: number; abs: string }>();
  try {
    if ((await stat(dir)).isDirectory())
      local = (await scanTree(dir, { ignore: await loadIgnore(dir, BUCKET_IGNORES) })).files;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (options.direction === 'up') throw new ReynaError('E_DIR_NOT_FOUND', `No directory ${dir}`);
  }
  const transfer: BucketSyncPlan['transfer'] = [];
  const remove: string[] = [];
  let unchanged = 0;
  if (options.direction === 'up') {
    for (const [key, f] of [...local].sort(([a], [b2]) => (a < b2 ? -1 : 1))) {
      if (remote.get(key)?.sha256 === f.sha256) unchanged++;
      else transfer.push({ key, sha256: f.sha256, size: f.size });
    }
    if (options.delete) for (const key of remote.keys()) if (!local.has(key)) remove.push(key);
  } else {
    for (const [key, o] of [...remote].sort(([a], [b2]) => (a < b2 ? -1 : 1))) {
      const problem = pathProblem(key);
      if (problem) {
        options.logger?.warn(`Skipping "${key}": as a file path it ${problem}`);
        continue;
      }
      if (local.get(key)?.sha256 === o.sha256) unchanged++;
      else transfer.push({ key, sha256: o.sha256, size: o.size });
    }
    if (options.delete) for (const key of local.keys()) if (!remote.has(key)) remove.push(key);
  }
  remove.sort();
  const missing =
    options.direction === 'up' && transfer.length > 0
      ? new Set(await api.missing([...new Set(transfer.map((t) => t.sha256))]))
      : new Set<string>();
  const plan: BucketSyncPlan = {
    direction: options.direction,
    dir,
    bucket,
    transfer,
    remove,
    upload: missing.size,
    unchanged,
  };
  const totalBytes = [...(options.direction === 'up' ? local.values() : remote.values())].reduce(
    (sum, f) => sum + f.size,
    0,
  );
  if (options.dryRun) return { plan, dryRun: true, summary: summary(local.size, 0, 0, 0, totalBytes, started) };

  if (options.direction === 'up') {
    const outgoing: Outgoing[] = [];
    for (const t of transfer) {
      if (!missing.has(t.sha256)) continue;
      missing.delete(t.sha256);
      const abs = (local.get(t.key) as { abs: string }).abs;
      outgoing.push({ sha256: t.sha256, size: t.size, name: t.key, read: () => readFile(abs) });
    }
    const bytesSent = outgoing.length > 0 ? await uploadBlobs(api, outgoing, options) : 0;
    const ops: BatchOp[] = [
      ...transfer.map((t) => ({ op: 'put' as const, key: t.key, sha256: t.sha256, contentType: contentTypeOf(t.key) })),
      ...remove.map((key) => ({ op: 'delete' as const, key })),
    ];
    for (let i = 0; i < ops.length; i += MAX_BATCH_ITEMS) {
      await api.json(
        { method: 'POST', path: `${b(bucket.id)}/batch`, json: { ops: ops.slice(i, i + MAX_BATCH_ITEMS) } },
        BatchResponse,
      );
    }
    return {
      plan,
      dryRun: false,
      summary: summary(local.size, outgoing.length, bytesSent, 0, totalBytes, started),
    };
  }

  const byHash = new Map<string, string[]>();
  for (const t of transfer) byHash.set(t.sha256, [...(byHash.get(t.sha256) ?? []), t.key]);
  const sizes = new Map(transfer.map((t) => [t.sha256, t.size]));
  const bytesReceived = await downloadBlobs(
    api,
    [...byHash.keys()].map((sha256) => ({ sha256, size: sizes.get(sha256) ?? 0 })),
    async (sha256, data) => {
      for (const key of byHash.get(sha256) ?? []) await writeFileAtomic(join(dir, key), data);
    },
    options,
  );
  await inParallel(remove, 16, (key) => rm(join(dir, key), { force: true }));
  return {
    plan,
    dryRun: false,
    summary: summary(remote.size, byHash.size, 0, bytesReceived, totalBytes, started),
  };
}

function summary(
  files: number,
  transferred: number,
  bytesSent: number,
  bytesReceived: number,
  totalBytes: number,
  started: number,
): TransferSummary {
  return {
    files,
    transferred,
    bytesSent,
    bytesReceived,
    bytesSkipped: Math.max(0, totalBytes - bytesSent - bytesReceived),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Which way `bucket sync SOURCE DEST` goes. A directory is an argument with a "/" or a leading "." or "~", or an
 * existing directory; bucket names can be neither, so exactly one side must look like a directory.
 */
export function syncDirection(
  cwd: string,
  source: string,
  dest: string,
): { direction: 'up' | 'down'; dir: string; name: string } {
  const isDir = (arg: string) => {
    if (arg.includes('/') || arg.startsWith('.') || arg.startsWith('~')) return true;
    try {
      return statSync(resolve(cwd, arg)).isDirectory();
    } catch {
      return false;
    }
  };
  const [a, b2] = [isDir(source), isDir(dest)];
  if (a && !b2) return { direction: 'up', dir: source, name: dest };
  if (!a && b2) return { direction: 'down', dir: dest, name: source };
  throw new ReynaError('E_SYNC_AMBIGUOUS', `Which of "${source}" and "${dest}" is the directory?`, {
    hint: 'Write the directory as a path, e.g. `reyna bucket sync ./site web` (up) or `reyna bucket sync web ./site` (down).',
    exitCode: 2,
  });
}
