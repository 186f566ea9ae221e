// Unit tests of watchTree, the daemon's scanner: a scan of an unchanged tree is answered from directory watches, a
// change (content, new, renamed or replaced directories, deletions, modes) makes the next scan read again the
// directories that reported it and nothing else, a change of .reynaignore or more events than it trusts make it
// walk the whole tree, writes in .reyna/ and in ignored directories are not changes, and the cookie barrier makes
// a scan started right after a write see it.
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

    const first = await w.scan(root, false);
    expect(w.last).toBe('walked');
    expect(hashes(first.files)).toEqual({ 'a.txt': sha('a'), 'src/b.ts': sha('b'), 'src/lib/c.ts': sha('c') });
    // The root, src and src/lib; node_modules is never read, so never watched.
    expect(w.watching).toBe(3);

    const second = await w.scan(root, false);
    expect(w.last).toBe('watched');
    expect(second.hashed).toBe(0);
    expect(second.hashedBytes).toBe(0);
    expect(hashes(second.files)).toEqual(hashes(first.files));
    expect(w.watching).toBe(3);
  });

  it('sees a file changed just before the scan, without waiting for the event', async () => {
    const root = tree({ 'a.txt': 'old', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, false);
    await w.scan(root, false);
    expect(w.last).toBe('watched');

    writeFileSync(join(root, 'src/b.ts'), 'new content');
    const result = await w.scan(root, false);
    expect(w.last).toBe('updated');
    // src only: the root reported nothing.
    expect(result.read).toBe(1);
    expect(result.hashed).toBe(1);
    expect(result.files.get('src/b.ts')?.sha256).toBe(sha('new content'));
    expect(result.files.get('a.txt')?.sha256).toBe(sha('old'));
  });

  it('finds a new directory, and watches it so a later write into it is seen too', async () => {
    const root = tree({ 'a.txt': 'a' });
    const w = watched(root);
    await w.scan(root, false);
    expect(w.watching).toBe(1);

    write(root, 'fresh/deeper/one.txt', 'one');
    const found = await w.scan(root, false);
    expect(w.last).toBe('updated');
    // The root, which reported the new directory, and everything in it.
    expect(found.read).toBe(3);
    expect(found.files.get('fresh/deeper/one.txt')?.sha256).toBe(sha('one'));
    expect(found.files.get('a.txt')?.sha256).toBe(sha('a'));
    expect(w.watching).toBe(3);

    // Only the new directory's own watch reports this.
    writeFileSync(join(root, 'fresh/deeper/two.txt'), 'two');
    const again = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(again.read).toBe(1);
    expect(again.files.get('fresh/deeper/two.txt')?.sha256).toBe(sha('two'));

    await w.scan(root, false);
    expect(w.last).toBe('watched');
  });

  it('reports the files of a renamed directory under its new name only', async () => {
    const root = tree({ 'old/a.txt': 'a', 'old/deep/b.txt': 'b', 'c.txt': 'c' });
    const w = watched(root);
    await w.scan(root, false);

    renameSync(join(root, 'old'), join(root, 'new'));
    const result = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(hashes(result.files)).toEqual({ 'c.txt': sha('c'), 'new/a.txt': sha('a'), 'new/deep/b.txt': sha('b') });
    expect([...result.files.keys()].filter((p) => p.startsWith('old/'))).toEqual([]);
    expect(w.watching).toBe(3);
  });

  // A watch follows the directory it was set on, not its name.
  it.each([
    ['deleted', (root: string) => rmSync(join(root, 'a'), { recursive: true })],
    ['moved away', (root: string) => renameSync(join(root, 'a'), join(root, 'b'))],
  ])('watches a directory made where one was %s, so writes into the new one are seen', async (_how, away) => {
    const root = tree({ 'a/f.txt': 'f', 'a/sub/g.txt': 'g' });
    const w = watched(root);
    await w.scan(root, false);
    away(root);
    mkdirSync(join(root, 'a'));
    const made = await w.scan(root, false);
    expect(w.last).toBe('updated');
    // None of the old directory's files, under its name or (moved away, inside the tree) its new one's.
    expect([...made.files.keys()].filter((p) => p.startsWith('a/'))).toEqual([]);
    write(root, 'a/later.txt', 'later');
    const after = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(after.files.has('a/later.txt')).toBe(true);
    await w.scan(root, false);
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
    await w.scan(root, false);
    await w.scan(root, false);
    expect(w.last).toBe('watched');
    away(root);
    mkdirSync(join(root, '.reyna'));
    // Its cookie goes into the new .reyna/: a watch left on the old one would never hear it, and the scan would
    // wait its timeout out, then walk.
    await w.scan(root, false);
    expect(w.last).toBe('watched');
  });

  it('reads the directory again after a file is deleted, and no longer reports it', async () => {
    const root = tree({ 'a.txt': 'a', 'src/gone.ts': 'g' });
    const w = watched(root);
    await w.scan(root, false);
    await w.scan(root, false);
    expect(w.last).toBe('watched');

    rmSync(join(root, 'src/gone.ts'));
    const result = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(result.read).toBe(1);
    expect(result.files.has('src/gone.ts')).toBe(false);
    expect(result.files.has('a.txt')).toBe(true);
  });

  it('reads the directory again after a file is made executable, and reports mode 0o755', async () => {
    const root = tree({ 'bin/run.sh': 'echo hi' });
    const w = watched(root);
    const before = await w.scan(root, false);
    expect(before.files.get('bin/run.sh')?.mode).toBe(0o644);
    await w.scan(root, false);
    expect(w.last).toBe('watched');

    chmodSync(join(root, 'bin/run.sh'), 0o755);
    const result = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(result.files.get('bin/run.sh')?.mode).toBe(0o755);
  });

  it('reads every directory after .reynaignore changes, and applies the new rules', async () => {
    const root = tree({ 'keep.txt': 'k', 'secret.env': 's', 'src/also.env': 'a' });
    const w = watched(root);
    const before = await w.scan(root, false);
    expect(before.files.has('secret.env')).toBe(true);

    writeFileSync(join(root, '.reynaignore'), '*.env\n');
    const result = await w.scan(root, false);
    // Under other rules, nothing the last scan found holds: every directory is read.
    expect(w.last).toBe('walked');
    expect(result.read).toBe(2);
    expect(result.files.has('src/also.env')).toBe(false);
    expect(result.files.has('secret.env')).toBe(false);
    expect(result.files.has('keep.txt')).toBe(true);
    expect(result.files.has('.reynaignore')).toBe(true);
  });

  it('ignores writes inside .reyna/', async () => {
    const root = tree({ 'a.txt': 'a' });
    const w = watched(root);
    await w.scan(root, false);

    writeFileSync(join(root, '.reyna/state.json'), '{"revision":"r1"}');
    const result = await w.scan(root, false);
    expect(w.last).toBe('watched');
    expect(result.hashed).toBe(0);
    expect(result.files.has('.reyna/state.json')).toBe(false);
  });

  it('does not watch ignored directories, so a change in node_modules makes no walk', async () => {
    const root = tree({ 'a.txt': 'a', 'node_modules/x.js': 'x' });
    const w = watched(root);
    await w.scan(root, false);
    expect(w.watching).toBe(1);

    writeFileSync(join(root, 'node_modules/x.js'), 'changed');
    const result = await w.scan(root, false);
    expect(w.last).toBe('watched');
    expect(result.hashed).toBe(0);
    expect(result.files.has('node_modules/x.js')).toBe(false);
  });

  it('answers a push as it answers a status', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, false);
    expect(w.last).toBe('walked');
    const pushed = await w.scan(root, true);
    expect(w.last).toBe('watched');
    expect(hashes(pushed.files)).toEqual({ 'a.txt': sha('a'), 'src/b.ts': sha('b') });
    writeFileSync(join(root, 'src/b.ts'), 'B');
    const again = await w.scan(root, true);
    expect(w.last).toBe('updated');
    expect(hashes(again.files)).toEqual({ 'a.txt': sha('a'), 'src/b.ts': sha('B') });
  });

  it('walks the whole tree after more events than it trusts', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, false);
    // Each new file is at least two events (made, written); more than 1024 is more than it counts on.
    for (let i = 0; i < 600; i++) writeFileSync(join(root, 'src', `f${i}.txt`), String(i));
    const result = await w.scan(root, false);
    expect(w.last).toBe('walked');
    expect(result.files.size).toBe(602);
    await w.scan(root, false);
    expect(w.last).toBe('watched');
  });

  it('stops watching a directory that was deleted, with all below it', async () => {
    const root = tree({ 'a.txt': 'a', 'gone/b.txt': 'b', 'gone/deep/c.txt': 'c', 'kept/d.txt': 'd' });
    const w = watched(root);
    await w.scan(root, false);
    expect(w.watching).toBe(4);
    rmSync(join(root, 'gone'), { recursive: true });
    const result = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(hashes(result.files)).toEqual({ 'a.txt': sha('a'), 'kept/d.txt': sha('d') });
    expect(w.watching).toBe(2);
  });

  it('reads a directory moved in from outside over an empty one, whose watch heard nothing', async () => {
    const root = tree({ 'a.txt': 'a', 'slot/.keep': '' });
    const outside = tree({ 'in.txt': 'in', 'deep/x.txt': 'x' });
    const w = watched(root);
    await w.scan(root, false);
    rmSync(join(root, 'slot/.keep'));
    await w.scan(root, false);
    await w.scan(root, false);
    expect(w.last).toBe('watched');
    renameSync(outside, join(root, 'slot'));
    const result = await w.scan(root, false);
    expect(hashes(result.files)).toEqual({ 'a.txt': sha('a'), 'slot/in.txt': sha('in'), 'slot/deep/x.txt': sha('x') });
    write(root, 'slot/deep/later.txt', 'later');
    expect((await w.scan(root, false)).files.has('slot/deep/later.txt')).toBe(true);
  });

  it('sees a file become a directory, and a directory become a file, at the same path', async () => {
    const root = tree({ 'x/y.txt': 'y', f: 'file' });
    const w = watched(root);
    await w.scan(root, false);
    rmSync(join(root, 'x'), { recursive: true });
    writeFileSync(join(root, 'x'), 'now a file');
    rmSync(join(root, 'f'));
    write(root, 'f/inside.txt', 'inside');
    const result = await w.scan(root, false);
    expect(w.last).toBe('updated');
    expect(hashes(result.files)).toEqual({ x: sha('now a file'), 'f/inside.txt': sha('inside') });
    write(root, 'f/more.txt', 'more');
    expect((await w.scan(root, false)).files.has('f/more.txt')).toBe(true);
  });

  it('watches nothing after close, and refuses to scan', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.ts': 'b' });
    const w = watched(root);
    await w.scan(root, false);
    expect(w.watching).toBe(2);

    w.close();
    expect(w.watching).toBe(0);
    await expect(w.scan(root, false)).rejects.toThrow(/was asked to scan/);
  });

  it('refuses to scan a root other than its own', async () => {
    const root = tree({ 'a.txt': 'a' });
    const other = tree({ 'b.txt': 'b' });
    const w = watched(root);
    await expect(w.scan(other, false)).rejects.toThrow(/was asked to scan/);
    expect(w.last).toBeUndefined();
  });
});
