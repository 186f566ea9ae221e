import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** node:crypto, loaded on first use: a status of a clean tree hashes nothing, and loading it costs ~10 ms. */
const crypto = () => process.getBuiltinModule('node:crypto');

/**
 * A UTF-8 file's text, read at once. The large JSON files sync keeps (a 10,000-file tree's hash cache and state
 * are over a megabyte each) are read about twice as fast as a Buffer decoded here than by readFile(…, 'utf8'),
 * and ASCII, what they nearly always are, decodes as Latin-1 for nothing.
 */
export function readTextSync(path: string): string {
  const data = readFileSync(path);
  return isAscii(data) ? data.toString('latin1') : data.toString('utf8');
}

/** Parsed JSON by path, with the (inode, size, mtime, ctime) it was read at; only where memoizeJsonReads() is on. */
let jsonMemo: Map<string, { stamp: string; value: unknown }> | undefined;

/**
 * Makes readJsonSync keep what it parsed, and answer it again while the file is unchanged: for a process that
 * lives across commands (the sync daemon), where the state and the hash cache are read by every one. The values
 * are shared: callers must not change them.
 */
export function memoizeJsonReads(on = true): void {
  jsonMemo = on ? new Map() : undefined;
}

/** A JSON file, parsed (see memoizeJsonReads). Files are replaced by rename, so a new inode means new content. */
export function readJsonSync(path: string): unknown {
  if (!jsonMemo) return JSON.parse(readTextSync(path));
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    const stamp = stampOf(st);
    const hit = jsonMemo.get(path);
    if (hit?.stamp === stamp) {
      remember(path, stamp, hit.value);
      return hit.value;
    }
    const data = readFileSync(fd);
    const value = JSON.parse(isAscii(data) ? data.toString('latin1') : data.toString('utf8'));
    remember(path, stamp, value);
    return value;
  } finally {
    closeSync(fd);
  }
}

/** Files kept at most (a state and a hash cache per tree): the one read longest ago goes first. */
const JSON_MEMO_FILES = 64;

function remember(path: string, stamp: string, value: unknown): void {
  if (!jsonMemo) return;
  jsonMemo.delete(path);
  jsonMemo.set(path, { stamp, value });
  if (jsonMemo.size > JSON_MEMO_FILES) jsonMemo.delete(jsonMemo.keys().next().value as string);
}

function stampOf(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** One file of a tree held in memory: templates are small, and a whole tree in hand makes merging simple. */
export interface FileEntry {
  data: Buffer;
  /** 0o644 or 0o755: only the executable bit matters. */
  mode: number;
}

export type FileTree = Map<string, FileEntry>;

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '.turbo', '.reyna']);

/** Reads a directory into a FileTree with POSIX paths, skipping build output and VCS folders. */
export async function readTree(root: string, skip: ReadonlySet<string> = SKIP_DIRS): Promise<FileTree> {
  const tree: FileTree = new Map();
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!skip.has(entry.name)) await walk(path);
      } else if (entry.isFile()) {
        const full = join(root, path);
        const [data, info] = await Promise.all([readFile(full), lstat(full)]);
        tree.set(path, { data, mode: info.mode & 0o111 ? 0o755 : 0o644 });
      }
    }
  }
  await walk('');
  return tree;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** Writes a file whole or not at all: temp file, fsync, rename. */
export async function writeFileAtomic(
  path: string,
  data: Buffer | string,
  mode = 0o644,
  options: {
    durable?: boolean;
    /** What readJsonSync should answer for the file written, without parsing it (where memoizeJsonReads is on). */
    json?: unknown;
  } = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.reyna-${crypto().randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', mode);
  const keep = jsonMemo !== undefined && options.json !== undefined;
  let ino: number | undefined;
  try {
    try {
      // ASCII text (nearly every large file sync writes) encodes as Latin-1 in half the time of UTF-8.
      await handle.writeFile(typeof data === 'string' && !NON_ASCII.test(data) ? Buffer.from(data, 'latin1') : data);
      await handle.chmod(mode);
      // Not for caches: one torn by a crash reads as damaged and is rebuilt, and the fsync costs every run.
      if (options.durable !== false) await handle.sync();
      if (keep) ino = (await handle.stat()).ino;
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    if (keep) {
      // Only while the file there is still the one written (another process may have replaced it since).
      const st = await lstat(path);
      if (st.ino === ino) remember(path, stampOf(st), options.json);
    }
  } catch (error) {
    // A disk that fills up, or a directory where the file goes: leave no temp file behind.
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Writes every file of a tree under root (plain writes: root is a private staging dir). */
export async function writeTree(root: string, tree: FileTree): Promise<void> {
  const { writeFile, chmod } = await import('node:fs/promises');
  for (const [path, entry] of tree) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, entry.data, { mode: entry.mode });
    await chmod(full, entry.mode);
  }
}

/** True for files that hold no NUL byte in their first 8 KiB, the rule git uses. */
export function isText(data: Buffer): boolean {
  return !data.subarray(0, 8000).includes(0);
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

export async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}
