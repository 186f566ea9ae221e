// Property-based tests of the path rules and the manifest diff in @reyna/core/protocol.
import { applyDiff, diffManifests, type Manifest, manifestProblems, pathProblem } from '@reyna/core/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

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
