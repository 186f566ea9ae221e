import type { Sql } from './sql.js';

/**
 * The one schema both stores use, as numbered steps. Never edit a step that has shipped: add the next one.
 * Plain PostgreSQL that PGlite runs too (no extensions).
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE users (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  admin boolean NOT NULL DEFAULT false,
  -- What quotas are checked against, kept with each change so an upload need not count every blob the user holds.
  blob_count bigint NOT NULL DEFAULT 0,
  blob_bytes bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tokens (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash text NOT NULL UNIQUE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE TABLE blobs (
  sha256 text PRIMARY KEY,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE user_blobs (
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  sha256 text NOT NULL REFERENCES blobs(sha256),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, sha256)
);
CREATE TABLE apps (
  id text PRIMARY KEY,
  owner_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name text NOT NULL,
  head text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_id, name)
);
CREATE TABLE revisions (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  parent text,
  seq integer NOT NULL,
  message text,
  file_count integer NOT NULL,
  total_size bigint NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, seq)
);
CREATE TABLE revision_files (
  revision_id text NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
  path text NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  mode integer NOT NULL,
  PRIMARY KEY (revision_id, path)
);
CREATE INDEX revision_files_sha256 ON revision_files (sha256);
CREATE TABLE buckets (
  id text PRIMARY KEY,
  owner_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_id, name)
);
CREATE TABLE bucket_objects (
  bucket_id text NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  key text NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  content_type text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bucket_id, key)
);
CREATE INDEX bucket_objects_sha256 ON bucket_objects (sha256);
CREATE TABLE bucket_shares (
  bucket_id text NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  access text NOT NULL,
  PRIMARY KEY (bucket_id, user_id)
);
CREATE TABLE bucket_links (
  id text PRIMARY KEY,
  bucket_id text NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE TABLE deployments (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  revision_id text,
  target text NOT NULL,
  version_id text,
  url text,
  status text NOT NULL,
  bytes_uploaded bigint NOT NULL,
  duration_ms bigint NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE builds (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  revision_id text,
  status text NOT NULL,
  duration_ms bigint NOT NULL,
  sizes jsonb NOT NULL DEFAULT '{}',
  logs text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE user_requests (
  user_id text PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  requests bigint NOT NULL DEFAULT 0
);
`,
  },
  {
    version: 2,
    name: 'app request counts',
    sql: `
-- API requests on an app's routes and requests its deployment served on the local edge, for cost attribution.
CREATE TABLE app_requests (
  app_id text PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
  requests bigint NOT NULL DEFAULT 0,
  edge_requests bigint NOT NULL DEFAULT 0
);
`,
  },
  {
    version: 3,
    name: 'revision manifests as documents',
    sql: `
-- A revision's manifest becomes one document (see _manifests.ts): the full list of [path, sha256, size, mode]
-- in path order when snapshot is NULL, else the entries that differ from the snapshot revision's list ([path]
-- alone for a removal). Rows per file made committing 10,000 files cost half a second; the rows go.
ALTER TABLE revisions ADD COLUMN snapshot text;
ALTER TABLE revisions ADD COLUMN manifest text;
UPDATE revisions r SET manifest = coalesce(
  (SELECT json_agg(json_build_array(f.path, f.sha256, f.size, f.mode) ORDER BY f.path COLLATE "C")::text
   FROM revision_files f WHERE f.revision_id = r.id),
  '[]');
ALTER TABLE revisions ALTER COLUMN manifest SET NOT NULL;
-- Every blob any revision of an app names, for what the rows answered before: which blobs an app deletion may
-- free, which ones the collector must keep, and the bytes an app references.
CREATE TABLE app_blobs (
  app_id text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  sha256 text NOT NULL,
  PRIMARY KEY (app_id, sha256)
);
INSERT INTO app_blobs (app_id, sha256)
  SELECT DISTINCT r.app_id, f.sha256 FROM revision_files f JOIN revisions r ON r.id = f.revision_id;
CREATE INDEX app_blobs_sha256 ON app_blobs (sha256);
DROP TABLE revision_files;
-- Deleting a blob row checks the user_blobs rows that reference it: without this index, one scan of user_blobs
-- per blob (deleting a 10,000-file app took seconds).
CREATE INDEX user_blobs_sha256 ON user_blobs (sha256);
`,
  },
];

/**
 * Applies the steps a database lacks, each in its own transaction; safe when several servers start at once.
 * `steps` is for tests that build a database as an older version left it.
 */
export async function migrate(sql: Sql, steps: readonly (typeof MIGRATIONS)[number][] = MIGRATIONS): Promise<number[]> {
  // Nearly every start finds every step applied: two plain reads then, instead of a locked transaction per step.
  const { rows: present } = await sql.query<{ ok: boolean }>(
    "SELECT to_regclass('reyna_migrations') IS NOT NULL AS ok",
  );
  if (present[0]?.ok) {
    const { rows } = await sql.query<{ version: number }>('SELECT version FROM reyna_migrations');
    const have = new Set(rows.map((r) => Number(r.version)));
    if (steps.every((step) => have.has(step.version))) return [];
  }
  // IF NOT EXISTS alone still races when several servers start at once on PostgreSQL: take turns.
  await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(726179)');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS reyna_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
  });
  const applied: number[] = [];
  for (const step of steps) {
    const done = await sql.transaction(async (tx) => {
      // Serialises concurrent starters on PostgreSQL; the re-check below makes the loser skip.
      await tx.query('SELECT pg_advisory_xact_lock(726179)');
      const seen = await tx.query('SELECT 1 FROM reyna_migrations WHERE version = $1', [step.version]);
      if (seen.rows.length > 0) return false;
      await tx.exec(step.sql);
      await tx.query('INSERT INTO reyna_migrations (version, name) VALUES ($1, $2)', [step.version, step.name]);
      return true;
    });
    if (done) applied.push(step.version);
  }
  return applied;
}
