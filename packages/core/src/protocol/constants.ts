// The protocol's plain values, apart from its zod schemas: code on the paths that must not load zod (status, push;
// see _checks.ts) imports them from here.

/** API version prefix of every resource route. */
export const API_PREFIX = '/v1';
/** Content type of `POST /v1/blobs/batch`: frames of `<sha256> <size>\n` followed by exactly `size` bytes. */
export const BLOB_BATCH_TYPE = 'application/vnd.reyna.blobs';
/** The most items a bucket batch (put/delete/move) takes. */
export const MAX_BATCH_ITEMS = 100;
/** The most hashes one "which do you lack" call takes. */
export const MAX_MISSING_QUERY = 10_000;

/**
 * reyna.json's JSON Schema sits beside it in every app (`reyna init` writes it, `reyna upgrade` refreshes it) and
 * `$schema` points there: editors complete the file offline, and no package needs to be published or installed.
 */
export const SCHEMA_FILE = 'reyna.schema.json';
export const SCHEMA_REF = `./${SCHEMA_FILE}`;
/** Where `$schema` pointed before: a package that was never published. `reyna upgrade` moves such apps to SCHEMA_REF. */
export const LEGACY_SCHEMA_URL = 'https://unpkg.com/@reyna/core@0/schema/reyna.schema.json';
