/** node:crypto, loaded on first use: a status of a clean tree hashes nothing, and loading it costs ~10 ms. */
const crypto = () => process.getBuiltinModule('node:crypto');

/** The longest file path a revision may hold, in UTF-8 bytes (what most file systems allow for a whole path). */
export const MAX_PATH_BYTES = 1024;
/** The longest single path segment, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255;

/** One file of a revision manifest. */
export interface ManifestEntry {
  sha256: string;
  size: number;
  mode: number;
}
export type Manifest = Record<string, ManifestEntry>;

/**
 * Why a manifest path is not acceptable, or undefined when it is. Paths are POSIX, relative, already normalised:
 * a client that sends `a//b` or `./a` has a bug the server should point out rather than guess about.
 */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.includes('\\')) return 'contains a backslash (use /)';
  if (path.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'contains a control character';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)
      return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  if (path.normalize('NFC') !== path) return 'is not in Unicode NFC form';
  return undefined;
}

/**
 * One problem per bad path, plus paths that differ only by case (they collide on macOS and Windows). Paths in
 * `accepted` passed pathProblem before (they are in the parent revision): only the checks across paths run on them.
 */
export function manifestProblems(
  paths: Iterable<string>,
  accepted?: { has(path: string): boolean },
): { path: string; problem: string }[] {
  const problems: { path: string; problem: string }[] = [];
  const folded = new Map<string, string>();
  for (const path of paths) {
    const problem = accepted?.has(path) ? undefined : pathProblem(path);
    if (problem) {
      problems.push({ path, problem });
      continue;
    }
    const key = path.toLowerCase();
    const other = folded.get(key);
    if (other !== undefined) problems.push({ path, problem: `differs from "${other}" only by case` });
    else folded.set(key, path);
  }
  // A file and a directory of the same name cannot both exist on disk. A directory whose whole line up is no file
  // is not looked at again: most paths then cost one lookup.
  const clear = new Set<string>();
  const walked: string[] = [];
  for (const [key, path] of folded) {
    walked.length = 0;
    let inside: string | undefined;
    let cut = key.lastIndexOf('/');
    while (cut > 0) {
      const dir = key.slice(0, cut);
      if (clear.has(dir)) break;
      if (folded.has(dir)) {
        inside = dir;
        break;
      }
      walked.push(dir);
      cut = dir.lastIndexOf('/');
    }
    if (inside === undefined) for (const dir of walked) clear.add(dir);
    else problems.push({ path, problem: `is inside "${folded.get(inside) ?? inside}", which is a file` });
  }
  return problems;
}

/**
 * Orders paths by Unicode code point, which is the byte order of their UTF-8 (PostgreSQL's COLLATE "C"); plain
 * string comparison orders by UTF-16 unit and puts U+E000–U+FFFF after the surrogate pairs of higher code points.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Sorts `paths` in place in comparePaths order: natively, unless a path holds a code unit where the orders differ. */
export function sortPaths(paths: string[]): string[] {
  paths.sort();
  if (paths.some((p) => SURROGATE_OR_PRIVATE.test(p))) paths.sort(comparePaths);
  return paths;
}
const SURROGATE_OR_PRIVATE = /[\ud800-\uffff]/;

/**
 * SHA-256 of a manifest's content in a canonical form (paths in comparePaths order, one line each), so two sides
 * can check that they mean the same manifest without sending it.
 */
export function manifestDigest(manifest: Manifest): string {
  return digestSorted(
    sortPaths(Object.keys(manifest)).map((path) => {
      const f = manifest[path] as ManifestEntry;
      return [path, f.sha256, f.size, f.mode] as const;
    }),
  );
}

/** manifestDigest of entries already in comparePaths order, as [path, sha256, size, mode]. */
export function digestSorted(entries: Iterable<readonly [string, string, number, number]>): string {
  const hash = crypto().createHash('sha256');
  let chunk = '';
  for (const [path, sha256, size, mode] of entries) {
    // Paths hold no control characters (pathProblem), so a newline ends each one unambiguously.
    chunk += `${path}\n${sha256} ${size} ${mode}\n`;
    if (chunk.length > 65536) {
      hash.update(chunk);
      chunk = '';
    }
  }
  return hash.update(chunk).digest('hex');
}

/** What turns manifest `from` into manifest `to`. */
export interface ManifestDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * Paths added, changed (hash or mode) and removed between two manifests, each sorted. `to` may be a Map of path →
 * entry, such as a scan's files: status compares a tree without building its manifest.
 */
export function diffManifests(from: Manifest, to: Manifest | ReadonlyMap<string, ManifestEntry>): ManifestDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  const visit = (path: string, entry: ManifestEntry) => {
    const before = Object.hasOwn(from, path) ? from[path] : undefined;
    if (!before) added.push(path);
    else if (before.sha256 !== entry.sha256 || before.mode !== entry.mode || before.size !== entry.size)
      changed.push(path);
  };
  // for…in, not Object.entries: a 10,000-file tree is compared on every status, and the pairs are garbage.
  if (to instanceof Map) {
    for (const [path, entry] of to) visit(path, entry);
    for (const path in from) if (Object.hasOwn(from, path) && !to.has(path)) removed.push(path);
  } else {
    const manifest = to as Manifest;
    for (const path in manifest) if (Object.hasOwn(manifest, path)) visit(path, manifest[path] as ManifestEntry);
    for (const path in from) if (Object.hasOwn(from, path) && !Object.hasOwn(manifest, path)) removed.push(path);
  }
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}

/** Applies a diff's result: `from` with `to`'s entries for the given paths. The inverse check of diffManifests. */
export function applyDiff(from: Manifest, to: Manifest, diff: ManifestDiff): Manifest {
  const out: Manifest = {};
  for (const [path, entry] of Object.entries(from)) if (!diff.removed.includes(path)) out[path] = entry;
  for (const path of [...diff.added, ...diff.changed]) {
    const entry = to[path];
    if (entry) out[path] = entry;
  }
  return out;
}
