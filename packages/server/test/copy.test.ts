// copyTree, which makes a fresh PGlite data dir from the prepared one.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { copyTree } from '../src/_copy.js';

const root = mkdtempSync(join(tmpdir(), 'reyna-copy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('copies every file and directory, with contents and modes, empty directories too', async () => {
  const from = join(root, 'from');
  mkdirSync(join(from, 'base', '5'), { recursive: true });
  mkdirSync(join(from, 'pg_tblspc'));
  const files: Record<string, string> = { PG_VERSION: '17\n', 'base/5/1249': 'x'.repeat(100_000), 'a/b/c/d': 'deep' };
  for (let i = 0; i < 100; i++) files[`base/5/${1000 + i}`] = `file ${i}`;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(from, path, '..'), { recursive: true });
    writeFileSync(join(from, path), text);
  }
  chmodSync(join(from, 'PG_VERSION'), 0o600);
  const to = join(root, 'to');
  expect(await copyTree(from, to)).toBe(Object.keys(files).length);
  for (const [path, text] of Object.entries(files)) expect(readFileSync(join(to, path), 'utf8'), path).toBe(text);
  expect(readdirSync(join(to, 'pg_tblspc'))).toEqual([]);
  expect(statSync(join(to, 'PG_VERSION')).mode & 0o777).toBe(0o600);
  // A copy, not links: writing to it leaves the source as it was.
  writeFileSync(join(to, 'PG_VERSION'), 'changed');
  expect(readFileSync(join(from, 'PG_VERSION'), 'utf8')).toBe('17\n');
});
