/**
 * reyna.json's JSON Schema sits beside it in every app (`reyna init` writes it, `reyna upgrade` refreshes it) and
 * `$schema` points there: editors complete the file offline, and no package needs to be published or installed.
 * (Apart from the zod schema in config.ts, so that naming the file does not load zod.)
 */
export const SCHEMA_FILE = 'reyna.schema.json';
export const SCHEMA_REF = `./${SCHEMA_FILE}`;
/** Where `$schema` pointed before: a package that was never published. `reyna upgrade` moves such apps to SCHEMA_REF. */
export const LEGACY_SCHEMA_URL = 'https://unpkg.com/@reyna/core@0/schema/reyna.schema.json';
