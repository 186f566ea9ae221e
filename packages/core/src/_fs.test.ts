// Unit tests of readJsonSync's memo (memoizeJsonReads): off, every read parses; on, an unchanged file answers the
// same object, and a file replaced by writeFileAtomic or rewritten in place is read again, or answered with the
// value writeFileAtomic was handed as `json`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoizeJsonReads, readJsonSync, writeFileAtomic } from './_fs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reyna-fs-'));
});
afterEach(() => {
  memoizeJsonReads(false);
  rmSync(dir, { recursive: true, force: true });
});

describe('readJsonSync', () => {
  it('parses the file on every read when the memo is off', () => {
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"a":1,"list":[1,2]}');
    const first = readJsonSync(path);
    const second = readJsonSync(path);
    expect(first).toEqual({ a: 1, list: [1, 2] });
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  it('answers the same object for an unchanged file when the memo is on', () => {
    memoizeJsonReads(true);
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"a":1}');
    const first = readJsonSync(path);
    expect(first).toEqual({ a: 1 });
    expect(readJsonSync(path)).toBe(first);
  });

  it('reads a file again once writeFileAtomic has replaced it', async () => {
    memoizeJsonReads(true);
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, '{"a":1}');
    const first = readJsonSync(path);
    expect(first).toEqual({ a: 1 });

    await writeFileAtomic(path, '{"a":2}');
    const second = readJsonSync(path);
    expect(second).toEqual({ a: 2 });
    expect(readJsonSync(path)).toBe(second);
  });

  it('answers the value handed to writeFileAtomic as json, without parsing the file', async () => {
    memoizeJsonReads(true);
    const path = join(dir, 'cache.json');
    writeFileSync(path, '{"old":true}');
    expect(readJsonSync(path)).toEqual({ old: true });

    const value = { version: 1, entries: { 'a.txt': [1, 2, 3, 'abc'] } };
    await writeFileAtomic(path, JSON.stringify(value), 0o644, { json: value });
    expect(readJsonSync(path)).toBe(value);
    expect(readJsonSync(path)).toBe(value);
  });

  it('ignores the json option when the memo is off', async () => {
    const path = join(dir, 'cache.json');
    const value = { a: 1 };
    await writeFileAtomic(path, JSON.stringify(value), 0o644, { json: value });
    const read = readJsonSync(path);
    expect(read).toEqual(value);
    expect(read).not.toBe(value);
  });

  it('notices a file rewritten in place', () => {
    memoizeJsonReads(true);
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"a":1}');
    const first = readJsonSync(path);
    expect(first).toEqual({ a: 1 });

    writeFileSync(path, '{"a":1,"b":"longer"}');
    expect(readJsonSync(path)).toEqual({ a: 1, b: 'longer' });
  });

  it('forgets what it kept when the memo is turned on again', () => {
    memoizeJsonReads(true);
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"a":1}');
    const first = readJsonSync(path);
    memoizeJsonReads(true);
    const second = readJsonSync(path);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });
});
