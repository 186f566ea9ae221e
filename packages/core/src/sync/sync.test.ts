// Unit tests of the parts of sync that need no server: the pull plan, the scan (ignore rules, symlinks,
// executable bit, hash cache) and upload batching.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTextSync, writeFileAtomic } from '../_fs.js';
import type { Manifest } from '../protocol/paths.js';
import { loadIgnore, scanTree, sha256Of, toManifest } from './_scan.js';
import { batches } from './_transfer.js';
import { planLinkFrom, planPullFrom } from './index.js';

const e = (content: string, mode = 0o644) => ({ sha256: sha256Of(Buffer.from(content)), size: content.length, mode });
const dirs: string[] = [];
function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'reyna-scan-'));
  dirs.push(root);
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  return root;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('planPullFrom', () => {
  const plan = (base: Manifest, remote: Manifest, local: Manifest) =>
    planPullFrom({ appId: 'a', server: 's', base, baseRevision: 'r1', remote, head: 'r2', local });

  it('applies server changes where the tree still matches the base, and keeps unrelated local edits', () => {
    const p = plan(
      { 'a.txt': e('a'), 'b.txt': e('b'), 'gone.txt': e('g'), 'mine.txt': e('m') },
      { 'a.txt': e('A'), 'b.txt': e('b'), 'new.txt': e('n'), 'mine.txt': e('m') },
      { 'a.txt': e('a'), 'b.txt': e('b'), 'gone.txt': e('g'), 'mine.txt': e('my edit') },
    );
    expect(p.write.map((w) => w.path)).toEqual(['a.txt', 'new.txt']);
    expect(p.remove).toEqual(['gone.txt']);
    expect(p.conflicts).toEqual([]);
    expect(p.keptLocal).toEqual(['mine.txt']);
  });

  it('calls it a conflict when both sides changed a file differently, not when they agree', () => {
    const p = plan(
      { 'x.txt': e('x'), 'y.txt': e('y'), 'z.txt': e('z') },
      { 'x.txt': e('server'), 'y.txt': e('same'), 'new.txt': e('server new') },
      { 'x.txt': e('local'), 'y.txt': e('same'), 'z.txt': e('local z'), 'new.txt': e('local new') },
    );
    expect(p.conflicts).toEqual(['new.txt', 'x.txt', 'z.txt']);
    expect(p.write.map((w) => w.path)).toEqual(['new.txt', 'x.txt']);
    expect(p.remove).toEqual(['z.txt']);
  });

  it('treats a changed executable bit as a change', () => {
    const p = plan({ 'run.sh': e('#!') }, { 'run.sh': e('#!', 0o755) }, { 'run.sh': e('#!') });
    expect(p.write).toEqual([{ path: 'run.sh', sha256: e('#!').sha256, size: 2, mode: 0o755 }]);
  });
});

describe('planLinkFrom', () => {
  it('writes what the directory lacks, keeps what it has, and calls the differences local changes', () => {
    const remote = { 'same.txt': e('s'), 'edited.txt': e('server'), 'missing.txt': e('m'), 'ignored.txt': e('i') };
    const local = { 'same.txt': e('s'), 'edited.txt': e('mine'), 'extra.txt': e('x') };
    const p = planLinkFrom({ appId: 'a', server: 's', head: 'r1', remote, local, taken: new Set(['ignored.txt']) });
    expect(p.write.map((w) => w.path)).toEqual(['missing.txt']);
    expect(p.files).toEqual({ ...local, 'missing.txt': e('m') });
    // The ignored file is on disk but not in the tree: the link neither overwrites it nor counts it as the head's.
    expect(p.changes).toEqual({ added: ['extra.txt'], changed: ['edited.txt'], removed: ['ignored.txt'] });
    expect(p.linked).toBe(false);
  });

  it('makes an empty directory a copy of the head', () => {
    const remote = { 'a.txt': e('a'), 'bin/run': e('#!', 0o755) };
    const p = planLinkFrom({ appId: 'a', server: 's', head: 'r1', remote, local: {}, taken: new Set() });
    expect(p.write).toEqual([
      { path: 'a.txt', ...e('a') },
      { path: 'bin/run', ...e('#!', 0o755) },
    ]);
    expect(p.changes).toEqual({ added: [], changed: [], removed: [] });
  });
});

describe('scanTree', () => {
  it('leaves out the defaults and .reynaignore patterns, keeps binary files and the executable bit', async () => {
    const bin = Buffer.from([0, 1, 2, 255, 0]);
    const root = tree({
      'reyna.json': '{}',
      'src/a.ts': 'a',
      'img.bin': bin,
      'run.sh': '#!/bin/sh\n',
      'node_modules/x/index.js': 'x',
      'dist/out.js': 'o',
      '.git/HEAD': 'h',
      '.reyna/state.json': '{}',
      'notes.log': 'l',
      'keep/notes.log': 'k',
      '.reynaignore': '*.log\n!keep/notes.log\n',
    });
    chmodSync(join(root, 'run.sh'), 0o755);
    const scan = await scanTree(root, { ignore: await loadIgnore(root) });
    const m = toManifest(scan.files);
    expect(Object.keys(m)).toEqual(['.reynaignore', 'img.bin', 'keep/notes.log', 'reyna.json', 'run.sh', 'src/a.ts']);
    expect(m['img.bin']).toEqual({ sha256: sha256Of(bin), size: 5, mode: 0o644 });
    expect(m['run.sh']?.mode).toBe(0o755);
  });

  it('refuses symlinks with their paths, unless they are ignored', async () => {
    const root = tree({ 'a.txt': 'a' });
    symlinkSync('a.txt', join(root, 'link.txt'));
    const err = await scanTree(root, { ignore: await loadIgnore(root) }).catch((x) => x);
    expect(err).toMatchObject({ code: 'E_SYMLINK', details: { symlinks: ['link.txt'] } });
    expect(err.hint).toMatch(/\.reynaignore/);
    writeFileSync(join(root, '.reynaignore'), 'link.txt\n');
    const ok = await scanTree(root, { ignore: await loadIgnore(root) });
    expect([...ok.files.keys()].sort()).toEqual(['.reynaignore', 'a.txt']);
  });

  it('does not re-read files the hash cache vouches for, and notices a change of the same size', async () => {
    const root = tree({ 'a.txt': 'aaaa', 'b.txt': 'bbbb' });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'a.txt'), old, old);
    utimesSync(join(root, 'b.txt'), old, old);
    const cachePath = join(root, '.reyna/hash-cache.json');
    const ignore = await loadIgnore(root);
    const first = await scanTree(root, { ignore, cachePath });
    expect(first).toMatchObject({ hashed: 2, cached: 0 });
    const second = await scanTree(root, { ignore, cachePath });
    expect(second).toMatchObject({ hashed: 0, cached: 2 });
    // Same size, new mtime: read again.
    writeFileSync(join(root, 'b.txt'), 'BBBB');
    const third = await scanTree(root, { ignore, cachePath });
    expect(third).toMatchObject({ hashed: 1, cached: 1 });
    expect(third.files.get('b.txt')?.sha256).toBe(sha256Of(Buffer.from('BBBB')));
  });

  it('reads a file again when another replaced it with the same size and mtime (new inode)', async () => {
    const root = tree({ 'a.txt': 'aaaa' });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'a.txt'), old, old);
    const cachePath = join(root, '.reyna/hash-cache.json');
    const ignore = await loadIgnore(root);
    await scanTree(root, { ignore, cachePath });
    expect(await scanTree(root, { ignore, cachePath })).toMatchObject({ hashed: 0, cached: 1 });
    // What an editor's "save as temp, rename over" does: same size, same mtime, other bytes, other inode.
    writeFileSync(join(root, 'a.tmp'), 'AAAA');
    utimesSync(join(root, 'a.tmp'), old, old);
    const before = statSync(join(root, 'a.txt'));
    renameSync(join(root, 'a.tmp'), join(root, 'a.txt'));
    const after = statSync(join(root, 'a.txt'));
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(after.ino).not.toBe(before.ino);
    const scan = await scanTree(root, { ignore, cachePath });
    expect(scan).toMatchObject({ hashed: 1, cached: 0 });
    expect(scan.files.get('a.txt')?.sha256).toBe(sha256Of(Buffer.from('AAAA')));
  });

  it('skips the ignore rules for cached paths only while the rules stay the same', async () => {
    const root = tree({ 'a.txt': 'a', 'b.log': 'b' });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'a.txt'), old, old);
    utimesSync(join(root, 'b.log'), old, old);
    const cachePath = join(root, '.reyna/hash-cache.json');
    await scanTree(root, { ignore: await loadIgnore(root), cachePath });
    const again = await scanTree(root, { ignore: await loadIgnore(root), cachePath });
    expect([...again.files.keys()].sort()).toEqual(['a.txt', 'b.log']);
    writeFileSync(join(root, '.reynaignore'), '*.log\n');
    const ruled = await scanTree(root, { ignore: await loadIgnore(root), cachePath });
    expect([...ruled.files.keys()].sort()).toEqual(['.reynaignore', 'a.txt']);
    expect(ruled.cached).toBe(1);
  });

  it('asks the ignore rules nothing about what the cache vouches for, directories walked or left out included, only about what is new', async () => {
    const root = tree({ 'a.txt': 'a', 'src/b.txt': 'b', 'src/deep/c.txt': 'c', 'node_modules/x/y.js': 'y' });
    const old = new Date(Date.now() - 60_000);
    for (const p of ['a.txt', 'src/b.txt', 'src/deep/c.txt']) utimesSync(join(root, p), old, old);
    const cachePath = join(root, '.reyna/hash-cache.json');
    const real = await loadIgnore(root);
    const asked: string[] = [];
    const spy = (test: (path: string) => boolean, rules: string | undefined) =>
      Object.assign(
        (path: string) => {
          asked.push(path);
          return test(path);
        },
        { rules },
      );
    const ignore = spy(real, real.rules);
    const first = await scanTree(root, { ignore, cachePath });
    expect([...first.files.keys()].sort()).toEqual(['a.txt', 'src/b.txt', 'src/deep/c.txt']);
    // .reyna/ appears with the cache this scan writes.
    expect(asked.sort()).toEqual(['a.txt', 'node_modules/', 'src/', 'src/b.txt', 'src/deep/', 'src/deep/c.txt']);
    asked.length = 0;
    const second = await scanTree(root, { ignore, cachePath });
    expect(second).toMatchObject({ hashed: 0, cached: 3 });
    // Only .reyna/, which the first scan's cache made; then nothing: ignored directories are remembered too.
    expect(asked).toEqual(['.reyna/']);
    asked.length = 0;
    expect(await scanTree(root, { ignore, cachePath })).toMatchObject({ hashed: 0, cached: 3 });
    expect(asked).toEqual([]);
    mkdirSync(join(root, 'src/new'));
    writeFileSync(join(root, 'src/new/d.txt'), 'd');
    asked.length = 0;
    const third = await scanTree(root, { ignore, cachePath });
    expect(asked.sort()).toEqual(['src/new/', 'src/new/d.txt']);
    expect(third.files.has('src/new/d.txt')).toBe(true);
    // Other rules: every path is asked again, and a directory they ignore is not walked.
    const other = spy((path) => path === 'src/deep/' || real(path), `${real.rules}\nsrc/deep/`);
    asked.length = 0;
    const fourth = await scanTree(root, { ignore: other, cachePath });
    expect(asked).toContain('src/');
    expect(asked).toContain('a.txt');
    expect(asked).toContain('node_modules/');
    expect([...fourth.files.keys()].sort()).toEqual(['a.txt', 'src/b.txt', 'src/new/d.txt']);
  });

  it('keeps names outside ASCII through the hash cache (read as UTF-8, written as UTF-8)', async () => {
    const root = tree({ 'été/ß.txt': 'é', 'a.txt': 'a' });
    const old = new Date(Date.now() - 60_000);
    for (const p of ['été/ß.txt', 'a.txt']) utimesSync(join(root, p), old, old);
    const cachePath = join(root, '.reyna/hash-cache.json');
    const ignore = await loadIgnore(root);
    await scanTree(root, { ignore, cachePath });
    expect(readTextSync(cachePath)).toContain('"été/ß.txt"');
    const again = await scanTree(root, { ignore, cachePath });
    expect(again).toMatchObject({ hashed: 0, cached: 2 });
    expect([...again.files.keys()].sort()).toEqual(['a.txt', 'été/ß.txt']);
    await writeFileAtomic(join(root, 'plain.json'), '{"a":1}');
    expect(readTextSync(join(root, 'plain.json'))).toBe('{"a":1}');
  });

  it('with deferSave, writes the hash cache only when asked to, and once', async () => {
    const root = tree({ 'a.txt': 'aaaa' });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'a.txt'), old, old);
    const cachePath = join(root, '.reyna/hash-cache.json');
    const ignore = await loadIgnore(root);
    const first = await scanTree(root, { ignore, cachePath, deferSave: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(existsSync(cachePath)).toBe(false);
    const saving = first.save();
    expect(first.save()).toBe(saving);
    await saving;
    expect(existsSync(cachePath)).toBe(true);
    expect(await scanTree(root, { ignore, cachePath, deferSave: true })).toMatchObject({ hashed: 0, cached: 1 });
  });

  it('does not trust a file modified just before it was hashed (same timestamp tick)', async () => {
    const root = tree({ 'fresh.txt': 'new' });
    const cachePath = join(root, '.reyna/hash-cache.json');
    const real = await loadIgnore(root);
    const asked: string[] = [];
    const ignore = Object.assign(
      (path: string) => {
        asked.push(path);
        return real(path);
      },
      { rules: real.rules },
    );
    await scanTree(root, { ignore, cachePath });
    expect(asked).toContain('fresh.txt');
    asked.length = 0;
    const again = await scanTree(root, { ignore, cachePath });
    expect(again.hashed).toBe(1);
    expect(again.files.get('fresh.txt')?.sha256).toBe(sha256Of(Buffer.from('new')));
    // The path is known to pass the rules, though its bytes are read again.
    expect(asked).not.toContain('fresh.txt');
  });
});

describe('batches', () => {
  it('splits by bytes and by count, and sends an oversized blob alone', () => {
    const items = [5, 5, 5, 20, 1, 1, 1].map((size, i) => ({ size, i }));
    expect(batches(items, 10, 100).map((g) => g.map((x) => x.i))).toEqual([[0, 1], [2], [3], [4, 5, 6]]);
    expect(batches(items, 1000, 3).map((g) => g.length)).toEqual([3, 3, 1]);
  });
});
