import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { ReynaError } from './errors.js';
import { check } from './protocol/_checks.js';
import { ReynaConfig, serializeSchema } from './protocol/config.js';

const schemaFile = new URL('../schema/reyna.schema.json', import.meta.url);

/** Every field reyna.json has, set. */
const FULL = {
  $schema: './reyna.schema.json',
  name: 'my-app-2',
  appId: 'app_123',
  template: {
    source: 'builtin:react',
    subdir: 'templates/react',
    ref: 'v1',
    commit: '773bb2cd8415cb5880f313fbc994e910961ed0eb',
    version: '1.0.0',
    values: { name: 'my-app-2', title: 'My app', '': 'empty key' },
  },
  build: {
    outDir: 'out',
    worker: 'src/worker.ts',
    command: 'npm run build',
    plan: 'paid',
    limits: { workerGzipBytes: 1, assetBytes: 2 ** 53 - 1, files: 100_000 },
  },
  deploy: {
    target: 'cloudflare',
    accountId: 'acc',
    workerName: 'w',
    compatibilityDate: '2026-04-01',
    routes: ['example.com/*', ''],
  },
  server: 'http://127.0.0.1:8787/',
};

/** Values that test the edges of each keyword, tried in every place of FULL. */
const ODD: unknown[] = [
  undefined,
  null,
  true,
  0,
  -0,
  1,
  1.5,
  -1,
  2 ** 53,
  2 ** 53 - 1,
  '',
  ' ',
  'a',
  'A',
  '-a',
  'a'.repeat(63),
  'a'.repeat(64),
  'free',
  'paid',
  'local',
  'cloudflare',
  'Free',
  '2026-4-1',
  '2026-04-01\n',
  'http://x.com',
  ' http://x.com',
  'http://x.com ',
  'http://x\n.com',
  'http:\tx.com',
  'x.com',
  'mailto:a@b',
  'http://',
  'http://[::1]:80/',
  'é',
  [],
  [''],
  [1],
  {},
  { source: 'x' },
  { a: 'b' },
  { a: 1 },
  { __proto__: null, x: 'y' },
  JSON.parse('{"__proto__": "x"}'),
];

/** FULL with the value at `path` replaced (or removed, for undefined). */
function variant(path: string[], value: unknown): unknown {
  const copy = structuredClone(FULL) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = path.at(-1) as string;
  if (value === undefined) delete at[last];
  else at[last] = structuredClone(value);
  return copy;
}

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [key, child] of Object.entries(value)) out.push(...paths(child, [...prefix, key]));
  return out;
}

/** The fast check may be unsure, but when it answers, zod agrees and returns the same value, keys in order. */
function agrees(input: unknown): 'fast' | 'zod-only' | 'both-reject' {
  const fast = check('ReynaConfig', input);
  const zod = ReynaConfig.safeParse(input);
  if (fast) {
    expect(zod.success, `zod rejects what the fast check took: ${JSON.stringify(input)}`).toBe(true);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
    expect(fast).toEqual(zod.data);
    return 'fast';
  }
  return zod.success ? 'zod-only' : 'both-reject';
}

describe('reading reyna.json without zod', () => {
  it('publishes the JSON Schema generated from the zod schema, as committed', () => {
    // Editors complete reyna.json from it: `npm run build` in packages/core rewrites it.
    expect(readFileSync(schemaFile, 'utf8')).toBe(serializeSchema());
  });

  it('takes every reyna.json of the examples, and a file with every field set, as zod does', () => {
    const examples = ['react-app'].map((name) =>
      JSON.parse(readFileSync(new URL(`../../../examples/${name}/reyna.json`, import.meta.url), 'utf8')),
    );
    for (const input of [...examples, FULL, { name: 'a' }, { name: 'a', build: {}, deploy: {} }]) {
      expect(agrees(input)).toBe('fast');
    }
  });

  it('fills in defaults and returns keys in the order of the schema, as zod does', () => {
    const input = {
      deploy: {},
      build: { command: 'x' },
      name: 'a',
      template: { values: { b: '1', a: '2' }, source: 's' },
    };
    expect(JSON.stringify(check('ReynaConfig', input))).toBe(
      '{"name":"a","template":{"source":"s","values":{"b":"1","a":"2"}},"build":{"outDir":"dist","worker":"worker/index.ts","command":"x"},"deploy":{"target":"local"}}',
    );
  });

  it('never takes what zod rejects: every field of a full file, set to each odd value', () => {
    const seen = { fast: 0, 'zod-only': 0, 'both-reject': 0 };
    for (const path of paths(FULL)) for (const value of ODD) seen[agrees(variant(path, value))]++;
    for (const value of ODD) seen[agrees(value)]++;
    for (const extra of ['unknown', 'Name']) seen[agrees({ ...FULL, [extra]: 'x' })]++;
    // Both kinds were met: the walk reached valid variants and invalid ones.
    expect(seen.fast).toBeGreaterThan(100);
    expect(seen['both-reject']).toBeGreaterThan(100);
    // What the fast check leaves to zod and zod takes: the URLs zod trims or cleans, and nothing else of note.
    expect(seen['zod-only']).toBeLessThan(10);
  });
});

describe('readConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reyna-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const read = async (text: string) => {
    writeFileSync(join(dir, 'reyna.json'), text);
    return readConfig(dir);
  };

  it('returns a valid file with its defaults', async () => {
    expect(await read('{"name":"a","build":{}}')).toEqual({
      name: 'a',
      build: { outDir: 'dist', worker: 'worker/index.ts' },
    });
  });

  it("gives zod's account of an invalid file, every issue with its place", async () => {
    const error = await read('{"name":"A","build":{"limits":{"files":1.5}},"extra":1}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReynaError);
    expect((error as ReynaError).code).toBe('E_CONFIG_INVALID');
    const issues = (error as ReynaError).details?.issues as string[];
    expect(issues).toHaveLength(3);
    expect(issues[0]).toMatch(/^name: lowercase letters/);
    expect(issues[1]).toMatch(/^build\.limits\.files: Invalid input: expected int/);
    expect(issues[2]).toBe('(root): Unrecognized key: "extra"');
    expect((error as ReynaError).hint).toContain('reyna.schema.json');
  });

  it('is still zod that cleans a URL it accepts', async () => {
    expect((await read('{"name":"a","server":" http://127.0.0.1:1/ "}')).server).toBe('http://127.0.0.1:1/');
  });
});
