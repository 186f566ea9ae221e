// Property-based tests of the path rules and the manifest diff in @reyna/core/protocol, and of how the store
// keeps manifests (snapshots and deltas, src/_manifests.ts).
import {
  applyDiff,
  comparePaths,
  diffManifests,
  type Manifest,
  manifestDigest,
  manifestProblems,
  pathProblem,
  sortPaths,
} from '@reyna/core/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, diffSorted, sortManifest, toManifest } from '../src/_manifests.js';

const segment = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const goodPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/'));
const entry = fc.record({
  sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
  size: fc.nat({ max: 1e9 }),
  mode: fc.constantFrom(0o644, 0o755),
});
const manifest = fc.dictionary(goodPath, entry, { maxKeys: 30 }) as fc.Arbitrary<Manifest>;

describe('path rules', () => {
  it('accept every plain relative path', () => {
    fc.assert(fc.property(goodPath, (p) => pathProblem(p) === undefined));
  });

  it('refuse any path holding a "..", "." or empty segment, a backslash or a NUL, wherever it is', () => {
    const bad = fc.constantFrom('..', '.', '', 'a\\b', 'nul\0', 'c:');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 4 }), bad, fc.nat(), (parts, insert, at) => {
        const all = [...parts];
        all.splice(at % (parts.length + 1), 0, insert);
        const path = all.join('/');
        // "c:" is only a drive letter at the start.
        fc.pre(!(insert === 'c:' && !path.startsWith('c:')));
        return pathProblem(path) !== undefined;
      }),
    );
  });

  it('refuse absolute paths and over-long ones', () => {
    fc.assert(fc.property(goodPath, (p) => pathProblem(`/${p}`) === 'is absolute'));
    expect(pathProblem('a'.repeat(255))).toBeUndefined();
    expect(pathProblem('a'.repeat(256))).toMatch(/segment longer/);
    expect(pathProblem(Array(200).fill('abcd').join('/'))).toBeUndefined();
    expect(pathProblem(Array(300).fill('abcd').join('/'))).toMatch(/longer than 1024/);
  });

  it('find every case-only duplicate and nothing else', () => {
    fc.assert(
      fc.property(fc.uniqueArray(goodPath, { maxLength: 20 }), (paths) => {
        const problems = manifestProblems(paths);
        const lower = new Set<string>();
        let dups = 0;
        for (const p of paths) {
          if (lower.has(p.toLowerCase())) dups++;
          lower.add(p.toLowerCase());
        }
        const caseProblems = problems.filter((x) => x.problem.includes('only by case'));
        return caseProblems.length === dups;
      }),
    );
  });

  it('refuse a file that is also a directory', () => {
    expect(manifestProblems(['a', 'a/b'])).toEqual([{ path: 'a/b', problem: 'is inside "a", which is a file' }]);
    expect(manifestProblems(['a/b/c', 'a/b/d', 'A/B', 'a/x/y', 'a/x'])).toEqual([
      { path: 'a/b/c', problem: 'is inside "A/B", which is a file' },
      { path: 'a/b/d', problem: 'is inside "A/B", which is a file' },
      { path: 'a/x/y', problem: 'is inside "a/x", which is a file' },
    ]);
  });

  it('find every file inside another file, as a check of each path against all the others would', () => {
    const nested = fc
      .array(fc.constantFrom('a', 'b', 'A'), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(nested, { maxLength: 12 }), (paths) => {
        const lower = new Map<string, string>();
        for (const p of paths) if (!lower.has(p.toLowerCase())) lower.set(p.toLowerCase(), p);
        const expected = [...lower.keys()].filter((key) =>
          [...lower.keys()].some((other) => key.startsWith(`${other}/`)),
        );
        const found = manifestProblems(paths).filter((x) => x.problem.includes('which is a file'));
        expect(found.map((x) => x.path.toLowerCase()).sort()).toEqual(expected.sort());
      }),
    );
  });

  it('give the same problems when paths the parent had skip their own rules', () => {
    const any = fc.oneof(goodPath, fc.constantFrom('../x', 'a//b', 'A', 'a', 'a/b', 'A/b/c', 'x\\y'));
    fc.assert(
      fc.property(fc.uniqueArray(any, { maxLength: 15 }), fc.nat(), (paths, seed) => {
        // Only paths that passed their own rules can be in a parent.
        const accepted = new Set(paths.filter((p, i) => pathProblem(p) === undefined && (seed >> i) & 1));
        expect(manifestProblems(paths, accepted)).toEqual(manifestProblems(paths));
      }),
    );
  });
});

describe('path order and manifest digest', () => {
  const unicode = fc.string({ unit: 'grapheme', maxLength: 6 });

  it('orders paths as their UTF-8 bytes (PostgreSQL COLLATE "C"), astral characters included', () => {
    fc.assert(
      fc.property(unicode, unicode, (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a), Buffer.from(b));
        expect(Math.sign(comparePaths(a, b))).toBe(bytes);
      }),
    );
    expect(sortPaths(['\u{1f600}', '\uffff', 'b', 'B', 'é'])).toEqual(['B', 'b', 'é', '\uffff', '\u{1f600}']);
    fc.assert(
      fc.property(fc.array(unicode), (paths) => {
        expect(sortPaths([...paths])).toEqual([...paths].sort(comparePaths));
      }),
    );
  });

  it('digests content, not the order keys were written in', () => {
    fc.assert(
      fc.property(manifest, (m) => {
        const reversed = Object.fromEntries(Object.entries(m).reverse());
        expect(manifestDigest(reversed)).toBe(manifestDigest(m));
        const [path, f] = Object.entries(m)[0] ?? [];
        fc.pre(path !== undefined && f !== undefined);
        const p = path as string;
        const e = f as Manifest[string];
        for (const other of [
          { ...e, size: e.size + 1 },
          { ...e, mode: e.mode === 0o644 ? 0o755 : 0o644 },
        ])
          expect(manifestDigest({ ...m, [p]: other })).not.toBe(manifestDigest(m));
        const { [p]: _gone, ...without } = m;
        expect(manifestDigest(without)).not.toBe(manifestDigest(m));
      }),
    );
  });
});

describe('stored manifests', () => {
  it('a delta against a snapshot gives back the manifest, in path order', () => {
    fc.assert(
      fc.property(manifest, manifest, (from, to) => {
        const a = sortManifest(from);
        const b = sortManifest(to);
        const delta = diffSorted(a, b);
        expect(applyDelta(a, delta)).toEqual(b);
        expect(toManifest(applyDelta(a, delta))).toEqual(to);
        // In path order, but for names like "0" that JavaScript objects always list first.
        const index = (k: string) => /^(0|[1-9]\d*)$/.test(k);
        expect(Object.keys(toManifest(b)).filter((k) => !index(k))).toEqual(
          Object.keys(to)
            .filter((k) => !index(k))
            .sort(comparePaths),
        );
        expect(diffSorted(a, a)).toEqual([]);
        // A delta holds only what differs.
        const d = diffManifests(from, to);
        expect(delta.length).toBe(d.added.length + d.changed.length + d.removed.length);
      }),
    );
  });

  it('keeps a file named __proto__ as a file', () => {
    const files = toManifest([['__proto__', 'a'.repeat(64), 1, 0o644]]);
    expect(Object.keys(files)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(files)).toBe(Object.prototype);
  });
});

describe('manifest diff', () => {
  it('turns the old manifest into the new one', () => {
    fc.assert(
      fc.property(manifest, manifest, (from, to) => {
        expect(applyDiff(from, to, diffManifests(from, to))).toEqual(to);
      }),
    );
  });

  it('says the same of a Map of entries (a scan) as of the manifest object', () => {
    fc.assert(
      fc.property(manifest, manifest, (from, to) => {
        expect(diffManifests(from, new Map(Object.entries(to)))).toEqual(diffManifests(from, to));
      }),
    );
  });

  it('is empty between a manifest and itself, and added/removed swap when reversed', () => {
    fc.assert(
      fc.property(manifest, manifest, (a, b) => {
        expect(diffManifests(a, a)).toEqual({ added: [], changed: [], removed: [] });
        const ab = diffManifests(a, b);
        const ba = diffManifests(b, a);
        expect(ab.added).toEqual(ba.removed);
        expect(ab.changed).toEqual(ba.changed);
      }),
    );
  });
});
