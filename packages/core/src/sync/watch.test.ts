// Unit tests of watchTree, the daemon's scanner: a status of an unchanged tree is answered from directory watches,
// and any change (content, new or renamed directories, deletions, modes, .reynaignore) makes the next scan walk;
// writes in .reyna/ and in ignored directories do not, a push always walks, and the cookie barrier makes a scan
// started right after a write see it.
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Of } from './_scan.js';
import { type WatchedTree, watchTree } from './watch.js';

const roots: string[] = [];
const trees: WatchedTree[] = [];

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'reyna-watch-'));
  roots.push(root);
  for (const [path, data] of Object.entries(files)) write(root, path, data);
  return root;
}

function write(root: string, path: string, data: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
}

function watched(root: string): WatchedTree {
  const w = watchTree(root);
  trees.push(w);
  return w;
}

const hashes = (files: Map<string, { sha256: string }>) =>
  Object.fromEntries([...files.keys()].sort().map((path) => [path, files.get(path)?.sha256]));
const sha = (text: string) => sha256Of(Buffer.from(text));

afterEach(() => {
  for (const w of trees.splice(0)) w.close();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('watchTree', () => {
  it('walks on the first status, then answers an unchanged tree from its watches with the same files', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.ts': 'b', 'src/lib/c.ts': 'c', 'node_modules/x/index.js': 'x' });
    const w = watched(root);
    expect(w.last).toBeUndefined();

    const first = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(hashes(first.files)).toEqual({ 'a.txt': sha('a'), 'src/b.ts': sha('b'), 'src/lib/c.ts': sha('c') });
    // The root, src and src/lib; node_modules is never read, so never watched.
    expect(w.watching).toBe(3);

    const second = await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
    expect(second.hashed).toBe(0);
    expect(second.hashedBytes).toBe(0);
    expect(hashes(second.files)).toEqual(hashes(first.files));
    expect(w.watching).toBe(3);
  });

  it('sees a file changed just before the scan, without waiting for the event', async () => {
    const root = tree({ 'a.txt': 'old', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');

    writeFileSync(join(root, 'src/b.ts'), 'new content');
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(result.files.get('src/b.ts')?.sha256).toBe(sha('new content'));
    expect(result.files.get('a.txt')?.sha256).toBe(sha('old'));
  });

  it('finds a new directory, and watches it so a later write into it is seen too', async () => {
    const root = tree({ 'a.txt': 'a' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    expect(w.watching).toBe(1);

    write(root, 'fresh/one.txt', 'one');
    const found = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(found.files.get('fresh/one.txt')?.sha256).toBe(sha('one'));
    expect(w.watching).toBe(2);

    // Only the new directory's own watch reports this.
    writeFileSync(join(root, 'fresh/two.txt'), 'two');
    const again = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(again.files.get('fresh/two.txt')?.sha256).toBe(sha('two'));

    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
  });

  it('reports the files of a renamed directory under its new name only', async () => {
    const root = tree({ 'old/a.txt': 'a', 'old/deep/b.txt': 'b', 'c.txt': 'c' });
    const w = watched(root);
    await w.scan(root, 'status', false);

    renameSync(join(root, 'old'), join(root, 'new'));
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(hashes(result.files)).toEqual({ 'c.txt': sha('c'), 'new/a.txt': sha('a'), 'new/deep/b.txt': sha('b') });
    expect([...result.files.keys()].filter((p) => p.startsWith('old/'))).toEqual([]);
    expect(w.watching).toBe(3);
  });

  // A watch follows the directory it was set on, not its name.
  it.each([
    ['deleted', (root: string) => rmSync(join(root, 'a'), { recursive: true })],
    ['moved away', (root: string) => renameSync(join(root, 'a'), join(root, 'b'))],
  ])('watches a directory made where one was %s, so writes into the new one are seen', async (_how, away) => {
    const root = tree({ 'a/f.txt': 'f' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    away(root);
    mkdirSync(join(root, 'a'));
    await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    write(root, 'a/later.txt', 'later');
    const after = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(after.files.has('a/later.txt')).toBe(true);
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
  });

  it.each([
    ['deleted', (root: string) => rmSync(join(root, '.reyna'), { recursive: true })],
    // Out of the tree: a name appearing in the root is a change the scan must walk for.
    ['moved away', (root: string) => renameSync(join(root, '.reyna'), `${root}-old-state`)],
  ])('keeps answering from its watches after .reyna/ was %s and made again', async (_how, away) => {
    const root = tree({ 'a.txt': 'a' });
    roots.push(`${root}-old-state`);
    const w = watched(root);
    await w.scan(root, 'status', false);
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
    away(root);
    mkdirSync(join(root, '.reyna'));
    // Its cookie goes into the new .reyna/: a watch left on the old one would never hear it, and the scan would
    // wait its timeout out, then walk.
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
  });

  it('walks after a file is deleted and no longer reports it', async () => {
    const root = tree({ 'a.txt': 'a', 'src/gone.ts': 'g' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');

    rmSync(join(root, 'src/gone.ts'));
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(result.files.has('src/gone.ts')).toBe(false);
    expect(result.files.has('a.txt')).toBe(true);
  });

  it('walks after a file is made executable and reports mode 0o755', async () => {
    const root = tree({ 'bin/run.sh': 'echo hi' });
    const w = watched(root);
    const before = await w.scan(root, 'status', false);
    expect(before.files.get('bin/run.sh')?.mode).toBe(0o644);
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');

    chmodSync(join(root, 'bin/run.sh'), 0o755);
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(result.files.get('bin/run.sh')?.mode).toBe(0o755);
  });

  it('walks after .reynaignore changes and applies the new rules', async () => {
    const root = tree({ 'keep.txt': 'k', 'secret.env': 's' });
    const w = watched(root);
    const before = await w.scan(root, 'status', false);
    expect(before.files.has('secret.env')).toBe(true);

    writeFileSync(join(root, '.reynaignore'), '*.env\n');
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('walked');
    expect(result.files.has('secret.env')).toBe(false);
    expect(result.files.has('keep.txt')).toBe(true);
    expect(result.files.has('.reynaignore')).toBe(true);
  });

  it('ignores writes inside .reyna/', async () => {
    const root = tree({ 'a.txt': 'a' });
    const w = watched(root);
    await w.scan(root, 'status', false);

    writeFileSync(join(root, '.reyna/state.json'), '{"revision":"r1"}');
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
    expect(result.hashed).toBe(0);
    expect(result.files.has('.reyna/state.json')).toBe(false);
  });

  it('does not watch ignored directories, so a change in node_modules makes no walk', async () => {
    const root = tree({ 'a.txt': 'a', 'node_modules/x.js': 'x' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    expect(w.watching).toBe(1);

    writeFileSync(join(root, 'node_modules/x.js'), 'changed');
    const result = await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
    expect(result.hashed).toBe(0);
    expect(result.files.has('node_modules/x.js')).toBe(false);
  });

  it('always walks for a push, even when nothing changed', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');

    const pushed = await w.scan(root, 'push', false);
    expect(w.last).toBe('walked');
    expect(hashes(pushed.files)).toEqual({ 'a.txt': sha('a'), 'src/b.ts': sha('b') });
    await w.scan(root, 'push', true);
    expect(w.last).toBe('walked');

    // A push's walk counts as the last walk for the next status.
    await w.scan(root, 'status', false);
    expect(w.last).toBe('watched');
  });

  it('watches nothing after close, and refuses to scan', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, 'status', false);
    expect(w.watching).toBe(2);

    w.close();
    expect(w.watching).toBe(0);
    await expect(w.scan(root, 'status', false)).rejects.toThrow(/was asked to scan/);
  });

  it('refuses to scan a root other than its own', async () => {
    const root = tree({ 'a.txt': 'a' });
    const other = tree({ 'b.txt': 'b' });
    const w = watched(root);
    await expect(w.scan(other, 'status', false)).rejects.toThrow(/was asked to scan/);
    expect(w.last).toBeUndefined();
  });
});
