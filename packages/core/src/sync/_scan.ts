import { createReadStream, lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import type { Ignore } from 'ignore';
import { readJsonSync, writeFileAtomic } from '../_fs.js';
import { ReynaError } from '../errors.js';
import type { Manifest } from '../protocol/paths.js';

/** node:crypto, loaded on first use: a status of a clean tree hashes nothing, and loading it costs ~10 ms. */
const crypto = () => process.getBuiltinModule('node:crypto');

/** What is never synced, whatever .reynaignore says: dependencies, VCS data, build output, local state. */
export const DEFAULT_IGNORES = ['node_modules/', '.git/', 'dist/', '.reyna/', '*.reyna-*.tmp'];
export const IGNORE_FILE = '.reynaignore';
export const STATE_DIR = '.reyna';
export const HASH_CACHE_FILE = `${STATE_DIR}/hash-cache.json`;

/**
 * Decides whether a relative POSIX path is left out; directories are asked with a trailing "/". `rules`, when
 * known, is the whole rule text: the answer for a path depends on nothing else.
 */
export type IgnoreTest = ((path: string) => boolean) & { rules?: string };

/**
 * The defaults plus the root's `.reynaignore` (gitignore syntax), through the `ignore` package, which is loaded on
 * the first question: a scan that the hash cache answers asks none.
 */
export async function loadIgnore(root: string, defaults: readonly string[] = DEFAULT_IGNORES): Promise<IgnoreTest> {
  let text: string | undefined;
  try {
    text = readFileSync(join(root, IGNORE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let ig: Ignore | undefined;
  const test = (path: string) => {
    if (!ig) {
      ig = (require('ignore') as () => Ignore)().add([...defaults]);
      if (text !== undefined) ig.add(text);
    }
    return ig.ignores(path);
  };
  return Object.assign(test, { rules: [...defaults, text ?? ''].join('\n') });
}
const require = createRequire(import.meta.url);

/** A file of the working tree with where it is on disk (the manifest key is its NFC form). */
export interface LocalFile {
  sha256: string;
  size: number;
  mode: 0o644 | 0o755;
  abs: string;
}

export interface ScanResult {
  files: Map<string, LocalFile>;
  /** Files read and hashed this time (the rest came from the hash cache). */
  hashed: number;
  hashedBytes: number;
  cached: number;
  /**
   * Writes the hash cache, when it would say something new; written already unless `deferSave`. Idempotent, and
   * it never rejects.
   */
  save: () => Promise<void>;
  /** Directories read (the rest were taken from the scan `since`). */
  read: number;
  /** What each directory held, for a later scan `since` this one; with the ignore rules it was read under. */
  listing: ReadonlyMap<string, DirListing>;
  rules: string | undefined;
}

/** A directory as a scan found it: its files (manifest keys), the directories it walked on to, and those it left. */
export interface DirListing {
  files: string[];
  dirs: string[];
  skipped: string[];
}

/**
 * What a watcher knows of a tree since a scan of it (`previous`): which directories may have changed since, and
 * whether a directory found now is the one `previous` read at that path. A later scan under the same ignore rules
 * reads only those; every other directory's listing and files are `previous`'s, without a read or an lstat.
 */
export interface ScanSince {
  previous: ScanResult;
  changed: (dir: string) => boolean;
  same: (dir: string, st: Stats) => boolean;
}

/**
 * Scans the tree at `root` for status and push: scanApp, or the sync daemon's watched scanner (sync/watch), which
 * reads only what changed since its last scan. `deferSave` as scanTree's.
 */
export type Scanner = (root: string, deferSave: boolean) => Promise<ScanResult>;

/** An empty sha256 records only that the path passed the ignore rules: its bytes were too fresh to vouch for. */
type CacheEntry = [size: number, mtimeMs: number, ino: number, sha256: string];
interface CacheFile {
  version: 1;
  /** The ignore rules of the scan that wrote it: under the same rules, a cached path is not ignored. */
  rules?: string;
  entries: Record<string, CacheEntry>;
  /** The directories that scan walked: under the same rules, they are not ignored either. */
  dirs?: string[];
  /** And those it left out (node_modules, .git, …): under the same rules, they are ignored again. */
  skipped?: string[];
}

/** Only names outside ASCII can have another Unicode normal form. */
const NON_ASCII = /[\u0080-\uffff]/;

/** A file whose mtime is this close to when it was hashed may change again within the same timestamp tick. */
const RACY_MS = 1000;

/**
 * Walks `root` (ignore rules applied), and hashes what the cache at `cachePath`, keyed by (path, size, mtime,
 * inode), cannot vouch for. Symlinks that are not ignored stop the scan: following them could sync files from
 * outside the tree, and keeping them as links would not survive other systems.
 */
export async function scanTree(
  root: string,
  options: {
    ignore: IgnoreTest;
    cachePath?: string;
    concurrency?: number;
    /** Leave writing the hash cache to the caller (`save()`): a push does it while the server commits. */
    deferSave?: boolean;
    /** Told each directory (relative POSIX path, '' for the root) just before it is read. */
    onDir?: (path: string) => void;
    since?: ScanSince;
  },
): Promise<ScanResult> {
  const cache: CacheFile = options.cachePath ? readCache(options.cachePath) : { version: 1, entries: {} };
  const files = new Map<string, LocalFile>();
  const symlinks: string[] = [];
  const toHash: { path: string; abs: string; size: number; mtimeMs: number; ino: number; at: number }[] = [];
  // Testing every path against the rules costs more than its lstat; a path the cache holds passed them already,
  // and so did a directory it walked.
  const trusted = options.ignore.rules !== undefined && cache.rules === options.ignore.rules;
  const knownDirs = new Set(trusted ? cache.dirs : []);
  const knownSkipped = new Set(trusted ? cache.skipped : []);
  // The cached entries this scan confirmed: the cache is written again only when it would say something else.
  const confirmed: string[] = [];

  const listing = new Map<string, DirListing>();
  let read = 0;
  const since = options.since?.previous.rules === options.ignore.rules ? options.since : undefined;

  // Paths are joined by hand: path.join's normalising costs more than the rest of a cached file's visit.
  const prefix = root.endsWith('/') || root.endsWith(sep) ? root : `${root}${sep}`;
  // Depth first with an explicit stack, handing the event loop a turn after each directory so a request
  // started beside the scan (status asks the server for the head) goes out while the tree is walked. A directory
  // is `fresh` when it is not the one the previous scan read there: nothing below it is that scan's either.
  const stack: { rel: string; fresh: boolean }[] = [{ rel: '', fresh: since === undefined }];
  while (stack.length > 0) {
    const { rel, fresh } = stack.pop() as { rel: string; fresh: boolean };
    const kept = fresh || !since || since.changed(rel) ? undefined : since.previous.listing.get(rel);
    if (kept) {
      for (const key of kept.files) {
        files.set(key, since?.previous.files.get(key) as LocalFile);
        if (Object.hasOwn(cache.entries, key)) confirmed.push(key);
      }
      for (const dir of kept.dirs) stack.push({ rel: dir, fresh: false });
      listing.set(rel, kept);
      continue;
    }
    let names: string[];
    options.onDir?.(rel);
    try {
      // Names only, and one lstat each: what readdir's file types would say comes with the lstat a file needs
      // anyway, and building them costs more.
      names = readdirSync(rel ? prefix + rel : root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && rel) continue;
      throw error;
    }
    const here: DirListing = { files: [], dirs: [], skipped: [] };
    listing.set(rel, here);
    read++;
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = prefix + path;
      const st = lstatSync(abs, { throwIfNoEntry: false });
      // Gone since the directory was read.
      if (st === undefined) continue;
      if (st.isDirectory()) {
        if (knownDirs.has(path) || (!knownSkipped.has(path) && !options.ignore(`${path}/`))) {
          stack.push({ rel: path, fresh: fresh || !since?.same(path, st) });
          here.dirs.push(path);
        } else here.skipped.push(path);
        continue;
      }
      const key = NON_ASCII.test(path) ? path.normalize('NFC') : path;
      const hit = Object.hasOwn(cache.entries, key) ? cache.entries[key] : undefined;
      if (!(trusted && hit) && options.ignore(path)) continue;
      if (st.isSymbolicLink()) {
        symlinks.push(path);
        continue;
      }
      if (!st.isFile()) continue;
      here.files.push(key);
      const mode = st.mode & 0o111 ? 0o755 : 0o644;
      if (hit && hit[0] === st.size && hit[1] === st.mtimeMs && hit[2] === st.ino && hit[3] !== '') {
        files.set(key, { sha256: hit[3], size: st.size, mode, abs });
        confirmed.push(key);
      } else {
        toHash.push({ path: key, abs, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, at: Date.now() });
      }
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  if (symlinks.length > 0) {
    symlinks.sort();
    const shown = symlinks.slice(0, 10).join(', ');
    throw new ReynaError(
      'E_SYMLINK',
      `Symbolic links are not synced: ${shown}${symlinks.length > 10 ? ` and ${symlinks.length - 10} more` : ''}`,
      {
        hint: `Replace them with the files they point to, or list them in ${IGNORE_FILE}.`,
        details: { symlinks },
      },
    );
  }

  const hashedEntries: [string, CacheEntry][] = [];
  let hashedBytes = 0;
  let index = 0;
  // Small files are read at once (hashFile): the event loop gets a turn every so many, for a progress display and
  // the requests started beside the scan.
  let sinceTurn = 0;
  const worker = async () => {
    while (index < toHash.length) {
      const item = toHash[index++] as (typeof toHash)[number];
      if (++sinceTurn >= 64) {
        sinceTurn = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const sha256 = await hashFile(item.abs, item.size);
      hashedBytes += item.size;
      const st = lstatSync(item.abs);
      files.set(item.path, { sha256, size: item.size, mode: st.mode & 0o111 ? 0o755 : 0o644, abs: item.abs });
      // Only a file that did not change while it was read, and not just before, may be trusted next time; the
      // others are remembered as paths the rules let through.
      const trustworthy = st.size === item.size && st.mtimeMs === item.mtimeMs && item.mtimeMs < item.at - RACY_MS;
      hashedEntries.push([item.path, [item.size, item.mtimeMs, item.ino, trustworthy ? sha256 : '']]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, toHash.length) }, worker));

  // Every directory the walk went on to, and every one it left out.
  const dirs = [...listing.values()].flatMap((l) => l.dirs);
  const skipped = [...listing.values()].flatMap((l) => l.skipped);
  const stale =
    toHash.length > 0 ||
    Object.keys(cache.entries).length !== confirmed.length ||
    cache.rules !== options.ignore.rules ||
    (cache.dirs?.length ?? 0) !== dirs.length ||
    (cache.skipped?.length ?? 0) !== skipped.length ||
    dirs.some((d) => !knownDirs.has(d)) ||
    skipped.some((d) => !knownSkipped.has(d));
  const cachePath = options.cachePath;
  const write = async () => {
    if (!cachePath || !stale) return;
    const next: CacheFile = { version: 1, rules: options.ignore.rules, entries: {}, dirs, skipped };
    for (const key of confirmed) next.entries[key] = cache.entries[key] as CacheEntry;
    for (const [key, entry] of hashedEntries) next.entries[key] = entry;
    await writeFileAtomic(cachePath, JSON.stringify(next), 0o644, { durable: false, json: next }).catch(() => {
      // A cache that cannot be written only costs time on the next run.
    });
  };
  let saving: Promise<void> | undefined;
  const save = () => {
    saving ??= write();
    return saving;
  };
  if (!options.deferSave) await save();
  const { rules } = options.ignore;
  return { files, hashed: toHash.length, hashedBytes, cached: confirmed.length, save, read, listing, rules };
}

/** scanTree of an app's tree at `root`: its .reynaignore with the defaults, and its hash cache in .reyna/. */
export async function scanApp(
  root: string,
  options: { deferSave?: boolean; onDir?: (path: string) => void; since?: ScanSince } = {},
): Promise<ScanResult> {
  return scanTree(root, { ignore: await loadIgnore(root), cachePath: join(root, HASH_CACHE_FILE), ...options });
}

function readCache(path: string): CacheFile {
  try {
    const data = readJsonSync(path) as CacheFile;
    if (data?.version === 1 && typeof data.entries === 'object' && data.entries) {
      const strings = (list: unknown) =>
        Array.isArray(list) && list.every((d) => typeof d === 'string') ? (list as string[]) : undefined;
      data.dirs = strings(data.dirs);
      data.skipped = strings(data.skipped);
      return data;
    }
  } catch {
    // Missing or damaged: start over.
  }
  return { version: 1, entries: {} };
}

/** Files this small are read at once: reading one through the thread pool costs more than the read itself. */
const SYNC_READ_BYTES = 1024 * 1024;

/** SHA-256 hex of a file: read at once when small, whole when middling, streamed when large. */
export async function hashFile(abs: string, size?: number): Promise<string> {
  if (size !== undefined && size <= SYNC_READ_BYTES) return sha256Of(readFileSync(abs));
  if (size !== undefined && size <= 32 * 1024 * 1024) {
    return crypto()
      .createHash('sha256')
      .update(await readFile(abs))
      .digest('hex');
  }
  const hash = crypto().createHash('sha256');
  for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256Of(data: Uint8Array): string {
  return crypto().createHash('sha256').update(data).digest('hex');
}

/** The manifest of a scan, in path order. */
export function toManifest(files: Map<string, LocalFile>): Manifest {
  const out: Manifest = {};
  for (const path of [...files.keys()].sort()) {
    const f = files.get(path) as LocalFile;
    out[path] = { sha256: f.sha256, size: f.size, mode: f.mode };
  }
  return out;
}
