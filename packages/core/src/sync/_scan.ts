import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { writeFileAtomic } from '../_fs.js';
import { ReynaError } from '../errors.js';
import type { Manifest } from '../protocol/paths.js';

/** What is never synced, whatever .reynaignore says: dependencies, VCS data, build output, local state. */
export const DEFAULT_IGNORES = ['node_modules/', '.git/', 'dist/', '.reyna/', '*.reyna-*.tmp'];
export const IGNORE_FILE = '.reynaignore';
export const STATE_DIR = '.reyna';

/**
 * Decides whether a relative POSIX path is left out; directories are asked with a trailing "/". `rules`, when
 * known, is the whole rule text: the answer for a path depends on nothing else.
 */
export type IgnoreTest = ((path: string) => boolean) & { rules?: string };

/** The defaults plus the root's `.reynaignore` (gitignore syntax), through the `ignore` package. */
export async function loadIgnore(root: string, defaults: readonly string[] = DEFAULT_IGNORES): Promise<IgnoreTest> {
  const { default: ignore } = await import('ignore');
  const ig = ignore().add([...defaults]);
  let text: string | undefined;
  try {
    text = readFileSync(join(root, IGNORE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) ig.add(text);
  return Object.assign((path: string) => ig.ignores(path), { rules: [...defaults, text ?? ''].join('\n') });
}

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
}

type CacheEntry = [size: number, mtimeMs: number, ino: number, sha256: string];
interface CacheFile {
  version: 1;
  /** The ignore rules of the scan that wrote it: under the same rules, a cached path is not ignored. */
  rules?: string;
  entries: Record<string, CacheEntry>;
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
  options: { ignore: IgnoreTest; cachePath?: string; concurrency?: number },
): Promise<ScanResult> {
  const cache = options.cachePath ? readCache(options.cachePath) : { version: 1 as const, entries: {} };
  const files = new Map<string, LocalFile>();
  const symlinks: string[] = [];
  const toHash: { path: string; abs: string; size: number; mtimeMs: number; ino: number; at: number }[] = [];
  const next: CacheFile = { version: 1, rules: options.ignore.rules, entries: {} };
  // Testing every path against the rules costs more than its lstat; a path the cache holds passed them already.
  const trusted = options.ignore.rules !== undefined && cache.rules === options.ignore.rules;
  let cached = 0;

  // Paths are joined by hand: path.join's normalising costs more than the rest of a cached file's visit.
  const prefix = root.endsWith('/') || root.endsWith(sep) ? root : `${root}${sep}`;
  // Depth first with an explicit stack, handing the event loop a turn after each directory so a request
  // started beside the scan (status asks the server for the head) goes out while the tree is walked.
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    let entries: Dirent[];
    try {
      entries = readdirSync(rel ? prefix + rel : root, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && rel) continue;
      throw error;
    }
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!options.ignore(`${path}/`)) stack.push(path);
        continue;
      }
      const key = NON_ASCII.test(path) ? path.normalize('NFC') : path;
      const hit = Object.hasOwn(cache.entries, key) ? cache.entries[key] : undefined;
      if (!(trusted && hit) && options.ignore(path)) continue;
      if (entry.isSymbolicLink()) {
        symlinks.push(path);
        continue;
      }
      if (!entry.isFile()) continue;
      const abs = prefix + path;
      const st = lstatSync(abs);
      const mode = st.mode & 0o111 ? 0o755 : 0o644;
      if (hit && hit[0] === st.size && hit[1] === st.mtimeMs && hit[2] === st.ino) {
        files.set(key, { sha256: hit[3], size: st.size, mode, abs });
        next.entries[key] = hit;
        cached++;
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

  let hashedBytes = 0;
  let index = 0;
  const worker = async () => {
    while (index < toHash.length) {
      const item = toHash[index++] as (typeof toHash)[number];
      const sha256 = await hashFile(item.abs, item.size);
      hashedBytes += item.size;
      const st = lstatSync(item.abs);
      files.set(item.path, { sha256, size: item.size, mode: st.mode & 0o111 ? 0o755 : 0o644, abs: item.abs });
      // Only a file that did not change while it was read, and not just before, may be trusted next time.
      if (st.size === item.size && st.mtimeMs === item.mtimeMs && item.mtimeMs < item.at - RACY_MS)
        next.entries[item.path] = [item.size, item.mtimeMs, item.ino, sha256];
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, toHash.length) }, worker));

  const stale = toHash.length > 0 || Object.keys(cache.entries).length !== cached || cache.rules !== next.rules;
  if (options.cachePath && stale) {
    await writeFileAtomic(options.cachePath, JSON.stringify(next)).catch(() => {
      // A cache that cannot be written only costs time on the next run.
    });
  }
  return { files, hashed: toHash.length, hashedBytes, cached };
}

function readCache(path: string): CacheFile {
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
    if (data?.version === 1 && typeof data.entries === 'object' && data.entries) return data;
  } catch {
    // Missing or damaged: start over.
  }
  return { version: 1, entries: {} };
}

/** SHA-256 hex of a file: read whole when small, streamed when large. */
export async function hashFile(abs: string, size?: number): Promise<string> {
  if (size !== undefined && size <= 32 * 1024 * 1024) {
    return createHash('sha256')
      .update(await readFile(abs))
      .digest('hex');
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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
