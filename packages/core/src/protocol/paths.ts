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

/** One problem per bad path, plus paths that differ only by case (they collide on macOS and Windows). */
export function manifestProblems(paths: Iterable<string>): { path: string; problem: string }[] {
  const problems: { path: string; problem: string }[] = [];
  const folded = new Map<string, string>();
  for (const path of paths) {
    const problem = pathProblem(path);
    if (problem) {
      problems.push({ path, problem });
      continue;
    }
    const key = path.toLowerCase();
    const other = folded.get(key);
    if (other !== undefined) problems.push({ path, problem: `differs from "${other}" only by case` });
    else folded.set(key, path);
  }
  // A file and a directory of the same name cannot both exist on disk.
  const all = new Set(folded.keys());
  for (const key of all) {
    let cut = key.lastIndexOf('/');
    while (cut > 0) {
      const dir = key.slice(0, cut);
      if (all.has(dir)) {
        problems.push({
          path: folded.get(key) ?? key,
          problem: `is inside "${folded.get(dir) ?? dir}", which is a file`,
        });
        break;
      }
      cut = dir.lastIndexOf('/');
    }
  }
  return problems;
}

/** What turns manifest `from` into manifest `to`. */
export interface ManifestDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** Paths added, changed (hash or mode) and removed between two manifests, each sorted. */
export function diffManifests(from: Manifest, to: Manifest): ManifestDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  // for…in, not Object.entries: a 10,000-file tree is compared on every status, and the pairs are garbage.
  for (const path in to) {
    if (!Object.hasOwn(to, path)) continue;
    const entry = to[path] as Manifest[string];
    const before = Object.hasOwn(from, path) ? from[path] : undefined;
    if (!before) added.push(path);
    else if (before.sha256 !== entry.sha256 || before.mode !== entry.mode || before.size !== entry.size)
      changed.push(path);
  }
  for (const path in from) if (Object.hasOwn(from, path) && !Object.hasOwn(to, path)) removed.push(path);
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
