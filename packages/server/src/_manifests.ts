// How the SQL store keeps revision manifests. A revision's manifest is one JSON document, not a row per file:
// either the full list (a snapshot) or, against the newest snapshot of its line, the entries that differ. A commit
// that changes one file of 10,000 then writes one short document; a read is the snapshot plus one delta. A delta
// that grows past SNAPSHOT_SHARE of its manifest is written as a new snapshot instead, so a delta stays small and
// a read never applies more than one.
import { comparePaths, type Manifest, type ManifestEntry, manifestProblems, sortPaths } from '@reyna/core/protocol';
import { ApiError } from './errors.js';

/** One file as stored: [path, sha256, size, mode]. */
export type Stored = [path: string, sha256: string, size: number, mode: number];
/** One entry of a delta: the file's new entry, or [path] alone when it was removed. */
export type StoredChange = Stored | [path: string];

/** A delta longer than this share of its manifest's files is stored as a snapshot instead. */
export const SNAPSHOT_SHARE = 1 / 8;

/** A manifest object (the wire form) as a sorted list. */
export function sortManifest(files: Manifest): Stored[] {
  return sortPaths(Object.keys(files)).map((path) => {
    const f = files[path] as ManifestEntry;
    return [path, f.sha256, f.size, f.mode];
  });
}

/** Wire-form changes (path → entry, or null for a removal) as a sorted delta. */
export function sortChanges(changes: Record<string, ManifestEntry | null>): StoredChange[] {
  return sortPaths(Object.keys(changes)).map((path) => {
    const f = changes[path];
    return f ? [path, f.sha256, f.size, f.mode] : [path];
  });
}

/** Sorted `base` with the sorted `delta` applied, in one pass. */
export function applyDelta(base: readonly Stored[], delta: readonly StoredChange[]): Stored[] {
  const out: Stored[] = [];
  let i = 0;
  let j = 0;
  while (i < base.length || j < delta.length) {
    const b = base[i];
    const d = delta[j];
    const order = b === undefined ? 1 : d === undefined ? -1 : comparePaths(b[0], d[0]);
    if (order < 0) {
      out.push(b as Stored);
      i++;
      continue;
    }
    if ((d as StoredChange).length === 4) out.push(d as Stored);
    if (order === 0) i++;
    j++;
  }
  return out;
}

/** The sorted delta that turns sorted `from` into sorted `to`. */
export function diffSorted(from: readonly Stored[], to: readonly Stored[]): StoredChange[] {
  const out: StoredChange[] = [];
  let i = 0;
  let j = 0;
  while (i < from.length || j < to.length) {
    const f = from[i];
    const t = to[j];
    const order = f === undefined ? 1 : t === undefined ? -1 : comparePaths(f[0], t[0]);
    if (order < 0) {
      out.push([(f as Stored)[0]]);
      i++;
    } else if (order > 0) {
      out.push(t as Stored);
      j++;
    } else {
      const a = f as Stored;
      const b = t as Stored;
      if (a[1] !== b[1] || a[2] !== b[2] || a[3] !== b[3]) out.push(b);
      i++;
      j++;
    }
  }
  return out;
}

/** The entry of `path` in a sorted list (binary search). */
export function findPath(files: readonly Stored[], path: string): Stored | undefined {
  let low = 0;
  let high = files.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const f = files[mid] as Stored;
    const order = comparePaths(f[0], path);
    if (order === 0) return f;
    if (order < 0) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}

/** A stored list as the wire's path → entry object, in path order. */
export function toManifest(files: readonly Stored[]): Manifest {
  const out: Manifest = {};
  for (const [path, sha256, size, mode] of files) {
    const entry = { sha256, size, mode };
    // A file may be called __proto__: assigning that name would set the prototype instead.
    if (path === '__proto__')
      Object.defineProperty(out, path, { value: entry, enumerable: true, writable: true, configurable: true });
    else out[path] = entry;
  }
  return out;
}

/** 422 E_INVALID_PATH for the first bad path; paths of `accepted` (the parent's) passed the per-path rules before. */
export function checkPaths(files: readonly Stored[], accepted?: { has(path: string): boolean }): void {
  const problems = manifestProblems(
    files.map((f) => f[0]),
    accepted,
  );
  if (problems.length > 0) {
    throw new ApiError(422, 'E_INVALID_PATH', `"${problems[0]?.path}" ${problems[0]?.problem}`, {
      hint: 'Paths are relative POSIX paths without "..", "\\", NUL or case-only duplicates.',
      details: { problems: problems.slice(0, 100) },
    });
  }
}
