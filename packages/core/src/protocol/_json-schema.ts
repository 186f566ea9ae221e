/**
 * A validator for the part of JSON Schema (draft-07) that `z.toJSONSchema` writes for reyna.json, so that reading
 * an app's config does not have to load zod (~100 ms of every `reyna build` and `reyna dev`). The zod schema stays
 * the one source of truth: the JSON Schema is generated from it (scripts/write-schema.mjs, checked by a test), and
 * this only answers "valid, and this is what zod would return" or "not sure". Anything it is not sure of (an
 * invalid value, a keyword or a combination it does not model) goes to zod, which gives the verdict and the error
 * messages. So it may be stricter than zod, never laxer: that is what config.test.ts checks against zod.
 */

export type JsonSchema = { [keyword: string]: unknown };

/** Keywords that only describe. */
const ANNOTATIONS = new Set(['$schema', 'title', 'description']);
const KNOWN: Record<string, Set<string>> = {
  string: new Set(['type', 'minLength', 'maxLength', 'pattern', 'enum', 'format', 'default']),
  integer: new Set(['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'default']),
  number: new Set(['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'default']),
  boolean: new Set(['type', 'default']),
  array: new Set(['type', 'items', 'default']),
  object: new Set(['type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'default']),
};

/** Not proven valid: zod decides. */
const UNSURE: unique symbol = Symbol('unsure');
type Checked = unknown | typeof UNSURE;

const patterns = new Map<string, RegExp>();
function matches(pattern: string, value: string): boolean {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(pattern);
    patterns.set(pattern, re);
  }
  return re.test(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inRange(schema: JsonSchema, value: number): boolean {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema as Record<string, number | undefined>;
  return (
    (minimum === undefined || value >= minimum) &&
    (maximum === undefined || value <= maximum) &&
    (exclusiveMinimum === undefined || value > exclusiveMinimum) &&
    (exclusiveMaximum === undefined || value < exclusiveMaximum)
  );
}

function check(schema: JsonSchema, value: unknown): Checked {
  const type = schema.type;
  const known = typeof type === 'string' ? KNOWN[type] : undefined;
  if (!known) return UNSURE;
  for (const keyword of Object.keys(schema)) if (!known.has(keyword) && !ANNOTATIONS.has(keyword)) return UNSURE;
  switch (type) {
    case 'string': {
      if (typeof value !== 'string') return UNSURE;
      const { minLength, maxLength, pattern, format } = schema as Record<string, unknown>;
      // zod counts UTF-16 code units, as String#length does.
      if (typeof minLength === 'number' && value.length < minLength) return UNSURE;
      if (typeof maxLength === 'number' && value.length > maxLength) return UNSURE;
      if (typeof pattern === 'string' && !matches(pattern, value)) return UNSURE;
      if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return UNSURE;
      if (format !== undefined) {
        // z.url(): any string the URL parser takes, trimmed and with tabs and newlines removed. Only a value
        // those leave as it is is taken here, so the result is the input.
        if (format !== 'uri' || /^\s|\s$|[\t\n\r]/.test(value) || !URL.canParse(value)) return UNSURE;
      }
      return value;
    }
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) && inRange(schema, value) ? value : UNSURE;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && inRange(schema, value) ? value : UNSURE;
    case 'boolean':
      return typeof value === 'boolean' ? value : UNSURE;
    case 'array': {
      if (!Array.isArray(value) || !isPlainObject(schema.items)) return UNSURE;
      const out: unknown[] = [];
      for (const item of value) {
        const checked = check(schema.items, item);
        if (checked === UNSURE) return UNSURE;
        out.push(checked);
      }
      return out;
    }
    case 'object':
      return isPlainObject(value) ? checkObject(schema, value) : UNSURE;
  }
  return UNSURE;
}

function checkObject(schema: JsonSchema, value: Record<string, unknown>): Checked {
  const { properties, required, additionalProperties, propertyNames } = schema;
  // Keys of parsed JSON are strings whatever propertyNames says, but only that one case is modelled.
  if (propertyNames !== undefined && !(isPlainObject(propertyNames) && sameKeys(propertyNames, { type: 'string' })))
    return UNSURE;
  if (Array.isArray(required) && required.some((key) => typeof key !== 'string' || !Object.hasOwn(value, key)))
    return UNSURE;
  // A value with a prototype-changing key is zod's to judge.
  if (Object.hasOwn(value, '__proto__')) return UNSURE;
  const out: Record<string, unknown> = {};
  if (properties !== undefined) {
    // A z.object: fixed keys, each in the order of the schema (as zod returns them), no others.
    if (!isPlainObject(properties) || additionalProperties !== false) return UNSURE;
    for (const key of Object.keys(value)) if (!Object.hasOwn(properties, key)) return UNSURE;
    for (const [key, property] of Object.entries(properties)) {
      if (!isPlainObject(property)) return UNSURE;
      if (Object.hasOwn(value, key)) {
        const checked = check(property, value[key]);
        if (checked === UNSURE) return UNSURE;
        out[key] = checked;
      } else if (Object.hasOwn(property, 'default')) {
        // zod's .default(): the value as it is, not parsed again. Only JSON primitives are modelled.
        const fallback = property.default;
        if (fallback !== null && typeof fallback === 'object') return UNSURE;
        out[key] = fallback;
      }
    }
    return out;
  }
  // A z.record: any key, each value against one schema, in the order of the input.
  if (!isPlainObject(additionalProperties)) return UNSURE;
  for (const [key, item] of Object.entries(value)) {
    const checked = check(additionalProperties, item);
    if (checked === UNSURE) return UNSURE;
    out[key] = checked;
  }
  return out;
}

function sameKeys(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/**
 * What zod would return for `value` when `value` is valid against `schema`, or undefined when that is not certain
 * (and zod must be asked).
 */
export function conform(schema: JsonSchema, value: unknown): { value: unknown } | undefined {
  const checked = check(schema, value);
  return checked === UNSURE ? undefined : { value: checked };
}
