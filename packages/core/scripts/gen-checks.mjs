// Writes src/protocol/_checks.ts: plain JavaScript checks generated from zod schemas, for the paths that run on
// every command (reyna.json, the server's answers to status and push) and must not pay for loading zod (over
// 100 ms). A check accepts only what its schema accepts and answers what the schema's parse would (unknown keys
// dropped, defaults filled in, in the schema's key order); anything it is not sure of it refuses, and the caller
// then asks zod itself, which stays the authority and writes the error messages. A schema using something this
// generator does not know (a refinement, a transform, another string format) stops the generation.
//
// `node scripts/gen-checks.mjs` after `tsc -b` (it reads the schemas from dist); src/protocol/checks.test.ts fails
// while the file is stale, and compares every check with its schema on generated inputs.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The schemas that get a check, by the name callers use. */
export const CHECKED = {
  ReynaConfig: 'config',
  App: 'api',
  AppList: 'api',
  Revision: 'api',
  RevisionWithFiles: 'api',
  MissingResponse: 'api',
  BlobBatchResponse: 'api',
  ErrorBody: 'api',
};

/** The TypeScript source of the checks of `schemas` (name → zod schema). */
export function generateChecks(schemas) {
  const functions = [];
  const constants = [];
  const names = new Map();
  const fail = (what) => {
    throw new Error(`gen-checks: cannot check ${what}; extend scripts/gen-checks.mjs or leave the schema out`);
  };
  const constant = (code) => {
    const name = `c${constants.length}`;
    constants.push(`const ${name} = ${code};`);
    return name;
  };

  // The name of a function `(v: unknown) => output | F` for `schema`; schemas that check alike share one.
  const bodies = new Map();
  const fn = (schema) => {
    const known = names.get(schema);
    if (known) return known;
    const def = schema._zod.def;
    // JSON has no undefined outside an object's missing keys, which the object handles.
    if (def.type === 'optional' || def.type === 'default') return fn(def.innerType);
    const code = body(schema).join('\n');
    let name = bodies.get(code);
    if (!name) {
      name = `p${bodies.size}`;
      bodies.set(code, name);
      functions.push(`function ${name}(v: unknown): unknown {\n${code}\n}`);
    }
    names.set(schema, name);
    return name;
  };

  const checksOf = (def, allowed) => {
    for (const c of def.checks ?? []) {
      const check = c._zod.def;
      if (!allowed.includes(check.check)) fail(`a ${def.type} with a "${check.check}" check`);
    }
    return (def.checks ?? []).map((c) => c._zod.def);
  };

  const body = (schema) => {
    const def = schema._zod.def;
    switch (def.type) {
      case 'string': {
        const lines = ["  if (typeof v !== 'string') return F;"];
        if (def.format !== undefined) lines.push(...stringFormat(def));
        for (const check of checksOf(def, ['min_length', 'max_length', 'string_format'])) {
          if (check.check === 'min_length') lines.push(`  if (v.length < ${check.minimum}) return F;`);
          else if (check.check === 'max_length') lines.push(`  if (v.length > ${check.maximum}) return F;`);
          else lines.push(...stringFormat(check));
        }
        lines.push('  return v;');
        return lines;
      }
      case 'number': {
        const lines = ["  if (typeof v !== 'number' || !Number.isFinite(v)) return F;"];
        for (const check of checksOf(def, ['number_format', 'greater_than', 'less_than'])) {
          if (check.check === 'number_format') {
            if (check.format !== 'safeint') fail(`the number format "${check.format}"`);
            lines.push('  if (!Number.isSafeInteger(v)) return F;');
          } else {
            const op = check.check === 'greater_than' ? (check.inclusive ? '<' : '<=') : check.inclusive ? '>' : '>=';
            lines.push(`  if (v ${op} ${JSON.stringify(check.value)}) return F;`);
          }
        }
        lines.push('  return v;');
        return lines;
      }
      case 'boolean':
        checksOf(def, []);
        return ["  return typeof v === 'boolean' ? v : F;"];
      case 'null':
        return ['  return v === null ? v : F;'];
      case 'unknown':
      case 'any':
        return ['  return v;'];
      case 'literal':
      case 'enum': {
        const values = def.type === 'literal' ? def.values : Object.values(def.entries);
        for (const value of values)
          if (!['string', 'number', 'boolean'].includes(typeof value) && value !== null) fail(`the literal ${value}`);
        return [`  return ${constant(JSON.stringify(values))}.includes(v as never) ? v : F;`];
      }
      case 'nullable':
        return [`  return v === null ? null : ${fn(def.innerType)}(v);`];
      case 'union':
        return [
          '  let x: unknown;',
          ...def.options.map((option) => `  if ((x = ${fn(option)}(v)) !== F) return x;`),
          '  return F;',
        ];
      case 'array': {
        const lines = ['  if (!Array.isArray(v)) return F;'];
        for (const check of checksOf(def, ['min_length', 'max_length'])) {
          if (check.check === 'min_length') lines.push(`  if (v.length < ${check.minimum}) return F;`);
          else lines.push(`  if (v.length > ${check.maximum}) return F;`);
        }
        lines.push(
          '  const out: unknown[] = [];',
          '  for (const item of v) {',
          `    const x = ${fn(def.element)}(item);`,
          '    if (x === F) return F;',
          '    out.push(x);',
          '  }',
          '  return out;',
        );
        return lines;
      }
      case 'record': {
        checksOf(def, []);
        const key = def.keyType._zod.def;
        if (key.type !== 'string' || (key.checks ?? []).length > 0 || key.format !== undefined)
          fail('a record whose keys are not plain strings');
        return [
          '  if (!isObject(v)) return F;',
          '  const out: Record<string, unknown> = {};',
          '  for (const k in v) {',
          '    if (!HAS.call(v, k)) continue;',
          // Assigning __proto__ would set the prototype: leave such an object to zod.
          "    if (k === '__proto__') return F;",
          `    const x = ${fn(def.valueType)}(v[k]);`,
          '    if (x === F) return F;',
          '    out[k] = x;',
          '  }',
          '  return out;',
        ];
      }
      case 'object': {
        checksOf(def, []);
        const strict = def.catchall !== undefined;
        if (strict && def.catchall._zod.def.type !== 'never') fail('an object with a catchall');
        const keys = Object.keys(def.shape);
        const lines = ['  if (!isObject(v)) return F;'];
        if (strict) {
          const allowed = constant(`new Set(${JSON.stringify(keys)})`);
          lines.push(`  for (const k in v) if (HAS.call(v, k) && !${allowed}.has(k)) return F;`);
        }
        lines.push('  const out: Record<string, unknown> = {};', '  let x: unknown;');
        for (const key of keys) {
          const field = def.shape[key];
          const kind = field._zod.def.type;
          const k = JSON.stringify(key);
          lines.push(`  if (HAS.call(v, ${k}) && v[${k}] !== undefined) {`);
          lines.push(`    if ((x = ${fn(field)}(v[${k}])) === F) return F;`, `    out[${k}] = x;`);
          if (kind === 'optional') lines.push('  }');
          else if (kind === 'default') {
            const value = field._zod.def.defaultValue;
            if (!['string', 'number', 'boolean'].includes(typeof value)) fail(`the default ${JSON.stringify(value)}`);
            lines.push(`  } else out[${k}] = ${JSON.stringify(value)};`);
          } else lines.push('  } else return F;');
        }
        lines.push('  return out;');
        return lines;
      }
      default:
        return fail(`a schema of type "${def.type}"`);
    }
  };

  // String formats: regexes, and plain URLs (zod trims them and drops tabs and newlines: such a string is left to
  // zod, so what is accepted here comes out unchanged).
  const stringFormat = (check) => {
    if (check.format === 'regex') {
      if (/[gy]/.test(check.pattern.flags)) fail(`the regex ${check.pattern} (global or sticky)`);
      return [`  if (!${constant(check.pattern.toString())}.test(v)) return F;`];
    }
    if (check.format === 'url') {
      if ('hostname' in check || 'protocol' in check || 'normalize' in check) fail('a URL with options');
      return ['  if (v !== v.trim() || /[\\t\\n\\r]/.test(v) || !URL.canParse(v)) return F;'];
    }
    return fail(`the string format "${check.format}"`);
  };

  const exported = Object.entries(schemas).map(([name, schema]) => `  ${name}: ${fn(schema)},`);
  return `// Generated by scripts/gen-checks.mjs from the zod schemas of protocol/: do not edit. After changing one of
// those schemas run \`npm run build -w @reyna/core && node packages/core/scripts/gen-checks.mjs\`
// (checks.test.ts fails while this file is stale).
/* eslint-disable */
// biome-ignore-all lint: generated code
// biome-ignore-all format: generated code
import type { App, BlobInfo, ErrorBody, MissingResponse, Revision, RevisionWithFiles } from './api.js';
import type { ReynaConfig } from './config.js';

const F: unique symbol = Symbol('invalid');
const HAS = Object.prototype.hasOwnProperty;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
${constants.join('\n')}

${functions.join('\n\n')}

const CHECKS: Record<keyof Checked, (v: unknown) => unknown> = {
${exported.join('\n')}
};

/** What each check answers. */
export interface Checked {
  ReynaConfig: ReynaConfig;
  App: App;
  AppList: { apps: App[] };
  Revision: Revision;
  RevisionWithFiles: RevisionWithFiles;
  MissingResponse: MissingResponse;
  BlobBatchResponse: { blobs: BlobInfo[] };
  ErrorBody: ErrorBody;
}
export type CheckedName = keyof Checked;

/** What zod's parse of schema \`name\` answers for \`value\`, or undefined where zod must be asked (it may refuse). */
export function check<K extends CheckedName>(name: K, value: unknown): Checked[K] | undefined {
  const out = CHECKS[name](value);
  return out === F ? undefined : (out as Checked[K]);
}
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const api = await import('../dist/protocol/api.js');
  const config = await import('../dist/protocol/config.js');
  const modules = { api, config };
  const schemas = Object.fromEntries(Object.entries(CHECKED).map(([name, from]) => [name, modules[from][name]]));
  const target = new URL('../src/protocol/_checks.ts', import.meta.url);
  writeFileSync(target, generateChecks(schemas));
  console.log(`wrote ${fileURLToPath(target)}`);
}
