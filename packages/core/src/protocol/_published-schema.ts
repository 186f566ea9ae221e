import { readFile } from 'node:fs/promises';
import type { JsonSchema } from './_json-schema.js';
import { SCHEMA_FILE } from './_schema-file.js';

let published: Promise<JsonSchema | undefined> | undefined;

/**
 * reyna.json's JSON Schema as the package ships it (`schema/`, generated from the zod schema at build time), or
 * undefined when it cannot be read. The Docker build's runner, bundled into one file, gets this module replaced by
 * one holding the schema (see bundleRunner).
 */
export function publishedSchema(): Promise<JsonSchema | undefined> {
  published ??= readFile(new URL(`../../schema/${SCHEMA_FILE}`, import.meta.url), 'utf8').then(
    (text) => JSON.parse(text) as JsonSchema,
    () => undefined,
  );
  return published;
}
