// The generated checks (_checks.ts) against the zod schemas they come from: the file is what the generator makes of
// today's schemas, and on inputs generated from each schema (valid ones, and ones broken in every way the schema
// can be) a check accepts exactly what zod accepts and answers what zod's parse answers, key order included. Its
// only refusals of something zod accepts are the ones it leaves to zod on purpose.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CHECKED, generateChecks } from '../../scripts/gen-checks.mjs';
import { type CheckedName, check } from './_checks.js';
import * as api from './api.js';
import * as config from './config.js';

const modules: Record<string, Record<string, unknown>> = { api, config };
const schemas = Object.fromEntries(
  Object.entries(CHECKED).map(([name, from]) => [name, (modules[from] as Record<string, z.ZodType>)[name]]),
) as Record<CheckedName, z.ZodType>;

// biome-ignore lint/suspicious/noExplicitAny: walks zod's internal definitions
type Def = any;

/** Values for `schema`: valid ones, or (`valid` false) mostly of its shape but broken at any level. */
function arbitrary(schema: z.ZodType, valid: boolean): fc.Arbitrary<unknown> {
  const def: Def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  const shaped = ((): fc.Arbitrary<unknown> => {
    switch (def.type) {
      case 'string': {
        const checks: Def[] = (def.checks ?? []).map((c: Def) => c._zod.def);
        const pattern = checks.find((c) => c.format === 'regex')?.pattern;
        const min = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
        const max = checks.find((c) => c.check === 'max_length')?.maximum ?? 20;
        if (def.format === 'url')
          return valid
            ? fc.webUrl()
            : fc.oneof(
                fc.webUrl(),
                fc.constantFrom('http://127.0.0.1:8787', ' http://x.test', 'http://x.test\n', 'ht\ttp://x', 'nope', ''),
              );
        if (valid) return pattern ? fc.stringMatching(pattern) : fc.string({ minLength: min, maxLength: max });
        return fc.oneof(
          ...(pattern ? [fc.stringMatching(pattern), fc.stringMatching(pattern)] : []),
          fc.string({ minLength: Math.max(0, min - 1), maxLength: max + 1 }),
          fc.constantFrom('', ' ', 'a\nb'),
        );
      }
      case 'number':
        if (valid) return fc.integer({ min: 1, max: 1e6 });
        return fc.oneof(
          fc.integer({ min: -5, max: 1000 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constantFrom(0, 420, 493, 2 ** 53, -(2 ** 53), 0.5),
        );
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'unknown':
      case 'any':
        return fc.jsonValue({ maxDepth: 2 });
      case 'literal':
        return fc.constantFrom(...def.values);
      case 'enum':
        return fc.constantFrom(...Object.values(def.entries));
      case 'nullable':
        return fc.oneof(fc.constant(null), arbitrary(def.innerType, valid));
      case 'optional':
      case 'default':
        return arbitrary(def.innerType, valid);
      case 'union':
        return fc.oneof(...def.options.map((o: z.ZodType) => arbitrary(o, valid)));
      case 'array':
        return fc.array(arbitrary(def.element, valid), { maxLength: 4 });
      case 'record':
        return fc.dictionary(
          valid ? fc.string({ maxLength: 6 }) : fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__proto__')),
          arbitrary(def.valueType, valid),
          { maxKeys: 4 },
        );
      case 'object': {
        const keys = Object.keys(def.shape);
        const required = keys.filter((k) => !['optional', 'default'].includes(def.shape[k]._zod.def.type));
        const known = fc.record(Object.fromEntries(keys.map((k) => [k, arbitrary(def.shape[k], valid)])), {
          requiredKeys: valid ? required : [],
        });
        if (valid) return known;
        return fc
          .tuple(
            known,
            fc.option(fc.dictionary(fc.constantFrom('extra', keys[0] ?? 'x', 'toString'), fc.jsonValue()), {
              freq: 4,
            }),
          )
          .map(([k, extra]) => ({ ...k, ...extra }));
      }
      default:
        throw new Error(`no arbitrary for ${def.type}`);
    }
  })();
  if (valid) return shaped;
  return fc.oneof({ arbitrary: shaped, weight: 9 }, { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 });
}

/** `value` with one small change somewhere: a leaf replaced, a key added or removed, a string or number nudged. */
function mutate(value: unknown, pick: number, kind: number, junk: unknown): unknown {
  const nodes: { holder: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const root = { value };
  const walk = (holder: Record<string, unknown> | unknown[], key: string | number) => {
    nodes.push({ holder, key });
    const v = (holder as Record<string | number, unknown>)[key];
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) walk(v, i);
    else if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) walk(v as Record<string, unknown>, k);
  };
  walk(root, 'value');
  // Adding a key goes to an object, wherever it is.
  const objects = nodes.filter(({ holder, key }) => {
    const v = (holder as Record<string | number, unknown>)[key];
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  });
  const among = kind === 1 && objects.length > 0 ? objects : nodes;
  const { holder, key } = among[pick % among.length] as (typeof nodes)[number];
  const h = holder as Record<string | number, unknown>;
  const v = h[key];
  if (kind === 0) h[key] = junk;
  else if (kind === 1 && typeof v === 'object' && v !== null && !Array.isArray(v))
    (v as Record<string, unknown>)[['extra', 'toString', 'constructor'][pick % 3] as string] = junk;
  else if (kind === 2 && typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length > 0) delete (v as Record<string, unknown>)[keys[pick % keys.length] as string];
  } else if (typeof v === 'string')
    h[key] = [v.toUpperCase(), ` ${v}`, `${v}x`, v.slice(1), '', `${v}\n`, v.repeat(40)][kind % 7];
  else if (typeof v === 'number') h[key] = [-v, v + 0.5, v * 1e17, 0][kind % 4];
  else if (Array.isArray(v)) v.push(junk);
  else h[key] = junk;
  return root.value;
}

/** Valid values of `schema`, each changed once or twice. */
function mutated(schema: z.ZodType): fc.Arbitrary<unknown> {
  const change = fc.tuple(fc.nat(), fc.nat(9), fc.jsonValue({ maxDepth: 1 }));
  return fc
    .tuple(arbitrary(schema, true), fc.array(change, { minLength: 1, maxLength: 2 }))
    .map(([value, changes]) =>
      changes.reduce((v, [pick, kind, junk]) => mutate(v, pick, kind, junk), structuredClone(value)),
    );
}

/** Inputs the checks leave to zod on purpose: URLs zod trims or rewrites, and records with a __proto__ key. */
function leftToZod(value: unknown): boolean {
  const text = JSON.stringify(value);
  return text.includes('"__proto__"') || /(^|[^\\])"(\s|[^"]*?(\s"|\\[tnr]))/.test(text);
}

describe('generated checks', () => {
  it('are what scripts/gen-checks.mjs makes of the schemas today', () => {
    const file = readFileSync(new URL('./_checks.ts', import.meta.url), 'utf8');
    expect(generateChecks(schemas), 'run `node packages/core/scripts/gen-checks.mjs` after a build').toBe(file);
  });

  for (const name of Object.keys(CHECKED) as CheckedName[]) {
    it(`${name}: accept what zod accepts, answering what it answers`, () => {
      const schema = schemas[name];
      let accepted = 0;
      fc.assert(
        fc.property(fc.oneof(arbitrary(schema, true), arbitrary(schema, false), mutated(schema)), (generated) => {
          const value = JSON.parse(JSON.stringify(generated) ?? 'null');
          const fast = check(name, value);
          const slow = schema.safeParse(value);
          if (fast !== undefined) {
            expect(slow.success, JSON.stringify(value)).toBe(true);
            expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.data));
            accepted++;
          } else if (slow.success) {
            expect(leftToZod(value), `refused what zod accepts: ${JSON.stringify(value)}`).toBe(true);
          }
        }),
        { numRuns: 1000 },
      );
      // The inputs are not all broken: the check had valid ones to answer.
      expect(accepted).toBeGreaterThan(300);
    });
  }

  it('fill in defaults and drop unknown keys as zod does', () => {
    const value = { name: 'x', build: {}, deploy: { accountId: 'a' } };
    expect(check('ReynaConfig', value)).toEqual({
      name: 'x',
      build: { outDir: 'dist', worker: 'worker/index.ts' },
      deploy: { target: 'local', accountId: 'a' },
    });
    expect(check('ReynaConfig', { ...value, extra: 1 })).toBeUndefined();
    const app = { id: 'app-1', name: 'a', ownerId: 'u', head: null, createdAt: 'now', more: 1 };
    expect(check('App', app)).toEqual({ id: 'app-1', name: 'a', ownerId: 'u', head: null, createdAt: 'now' });
    expect(check('ReynaConfig', { name: 'x', server: ' http://a.test' })).toBeUndefined();
    expect(config.ReynaConfig.parse({ name: 'x', server: ' http://a.test' }).server).toBe('http://a.test');
  });
});
