import type {
  Access,
  App,
  BatchOp,
  BlobEntry,
  Bucket,
  BucketObject,
  Build,
  CommitRequest,
  CreateBuildRequest,
  CreateDeploymentRequest,
  Deployment,
  ListedToken,
  PublicLink,
  PutObjectRequest,
  Revision,
  RevisionWithFiles,
  TokenInfo,
  Usage,
  User,
} from '@reyna/core/protocol';
import { digestSorted } from '@reyna/core/protocol';
import { hashToken, newId, newToken } from '../_ids.js';
import {
  applyDelta,
  checkPaths,
  diffSorted,
  findPath,
  SNAPSHOT_SHARE,
  type Stored,
  type StoredChange,
  sortChanges,
  sortManifest,
  toManifest,
} from '../_manifests.js';
import { ApiError, notFound } from '../errors.js';
import type { Quotas } from '../limits.js';
import { migrate } from '../migrations.js';
import type { Sql, SqlTx } from '../sql.js';
import type { Orphans, Principal, RequestCounts, Store } from '../store.js';

type Row = Record<string, unknown>;
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const num = (v: unknown): number => Number(v);
const json = (v: unknown): string => JSON.stringify(v);

const toUser = (r: Row): User => ({
  id: String(r.id),
  name: String(r.name),
  admin: Boolean(r.admin),
  createdAt: iso(r.created_at),
});
const toToken = (r: Row): TokenInfo => ({
  id: String(r.id),
  name: String(r.name),
  userId: String(r.user_id),
  createdAt: iso(r.created_at),
  revokedAt: isoOrNull(r.revoked_at),
});
const toApp = (r: Row): App => ({
  id: String(r.id),
  name: String(r.name),
  ownerId: String(r.owner_id),
  head: (r.head as string | null) ?? null,
  createdAt: iso(r.created_at),
});
const toRevision = (r: Row): Revision => ({
  id: String(r.id),
  appId: String(r.app_id),
  parent: (r.parent as string | null) ?? null,
  seq: num(r.seq),
  message: (r.message as string | null) ?? null,
  fileCount: num(r.file_count),
  totalSize: num(r.total_size),
  createdBy: String(r.created_by),
  createdAt: iso(r.created_at),
});
const toObject = (r: Row): BucketObject => ({
  key: String(r.key),
  sha256: String(r.sha256),
  size: num(r.size),
  contentType: String(r.content_type),
  metadata: (typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata) as Record<string, string>,
  updatedAt: iso(r.updated_at),
});
const toLink = (r: Row): PublicLink => ({
  id: String(r.id),
  bucketId: String(r.bucket_id),
  path: `/v1/public/${String(r.id)}/objects`,
  createdAt: iso(r.created_at),
  revokedAt: isoOrNull(r.revoked_at),
});
const toDeployment = (r: Row): Deployment => ({
  id: String(r.id),
  appId: String(r.app_id),
  revision: (r.revision_id as string | null) ?? null,
  target: String(r.target),
  versionId: (r.version_id as string | null) ?? null,
  url: (r.url as string | null) ?? null,
  status: r.status as Deployment['status'],
  bytesUploaded: num(r.bytes_uploaded),
  durationMs: num(r.duration_ms),
  createdBy: String(r.created_by),
  createdAt: iso(r.created_at),
});
const toBuild = (r: Row): Build => ({
  id: String(r.id),
  appId: String(r.app_id),
  revision: (r.revision_id as string | null) ?? null,
  status: r.status as Build['status'],
  durationMs: num(r.duration_ms),
  sizes: (typeof r.sizes === 'string' ? JSON.parse(r.sizes) : r.sizes) as Record<string, number>,
  createdBy: String(r.created_by),
  createdAt: iso(r.created_at),
});

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The most recently used snapshots, up to a number of entries in all. */
class SnapshotCache {
  private readonly lists = new Map<string, Stored[]>();
  private entries = 0;

  constructor(private readonly maxEntries: number) {}

  get(id: string): Stored[] | undefined {
    const files = this.lists.get(id);
    if (files) {
      this.lists.delete(id);
      this.lists.set(id, files);
    }
    return files;
  }

  put(id: string, files: Stored[]): Stored[] {
    if (files.length > this.maxEntries || this.lists.has(id)) return files;
    this.lists.set(id, files);
    this.entries += files.length;
    for (const [oldest, list] of this.lists) {
      if (this.entries <= this.maxEntries) break;
      this.lists.delete(oldest);
      this.entries -= list.length;
    }
    return files;
  }
}

/** The Store on any SQL database that speaks PostgreSQL: PGlite embedded, or a PostgreSQL server. */
export class SqlStore implements Store {
  /**
   * Parsed snapshot manifests by revision id. Revisions never change, so a copy stays right whoever else writes to
   * the database; it spares a commit on a large app reading and parsing its snapshot every time.
   */
  private readonly snapshots = new SnapshotCache(200_000);

  /** The database underneath, for tests and tools that need to look inside. */
  constructor(readonly sql: Sql) {}

  get kind(): string {
    return this.sql.kind;
  }

  migrate(): Promise<number[]> {
    return migrate(this.sql);
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  bootstrap(): Promise<{ user: User; token: string } | undefined> {
    return this.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(726180)');
      const { rows } = await tx.query('SELECT count(*)::int AS n FROM users');
      if (num(rows[0]?.n) > 0) return undefined;
      const made = await this.makeToken(tx, 'owner', 'first start', { admin: true });
      return { user: made.user, token: made.token };
    });
  }

  private async makeToken(tx: SqlTx, userName: string, label: string, options: { admin?: boolean }) {
    let user = (await tx.query('SELECT * FROM users WHERE name = $1', [userName])).rows[0];
    if (!user) {
      user = (
        await tx.query(
          'INSERT INTO users (id, name, admin) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING *',
          [newId('usr'), userName, options.admin ?? false],
        )
      ).rows[0] as Row;
    }
    const token = newToken();
    const info = (
      await tx.query('INSERT INTO tokens (id, user_id, hash, name) VALUES ($1, $2, $3, $4) RETURNING *', [
        newId('tok'),
        user.id,
        hashToken(token),
        label,
      ])
    ).rows[0] as Row;
    return { token, info: toToken(info), user: toUser(user) };
  }

  async authenticate(tokenHash: string): Promise<Principal | undefined> {
    const { rows } = await this.sql.query(
      `SELECT t.id AS t_id, t.name AS t_name, t.created_at AS t_created, t.revoked_at, u.*
       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1 AND t.revoked_at IS NULL`,
      [tokenHash],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      user: toUser(r),
      token: {
        id: String(r.t_id),
        name: String(r.t_name),
        userId: String(r.id),
        createdAt: iso(r.t_created),
        revokedAt: null,
      },
    };
  }

  createToken(userName: string, label: string, options: { admin?: boolean }) {
    return this.sql.transaction((tx) => this.makeToken(tx, userName, label, options));
  }

  async tokenRevokedAt(tokenHash: string): Promise<string | undefined> {
    const { rows } = await this.sql.query('SELECT revoked_at FROM tokens WHERE hash = $1 AND revoked_at IS NOT NULL', [
      tokenHash,
    ]);
    return rows[0] ? iso(rows[0].revoked_at) : undefined;
  }

  async listTokens(scope: { userId: string } | { userName: string } | 'all'): Promise<ListedToken[]> {
    const where = scope === 'all' ? 'true' : 'userId' in scope ? 'u.id = $1' : 'u.name = $1';
    const params = scope === 'all' ? [] : ['userId' in scope ? scope.userId : scope.userName];
    const { rows } = await this.sql.query(
      `SELECT t.*, u.name AS user_name FROM tokens t JOIN users u ON u.id = t.user_id WHERE ${where}
       ORDER BY t.created_at, t.id`,
      params,
    );
    if (rows.length === 0 && typeof scope === 'object' && 'userName' in scope) {
      const known = await this.sql.query('SELECT 1 FROM users WHERE name = $1', [scope.userName]);
      if (known.rows.length === 0) throw notFound('user', scope.userName);
    }
    return rows.map((r) => ({ ...toToken(r), user: String(r.user_name) }));
  }

  revokeToken(by: User, tokenId: string): Promise<TokenInfo> {
    return this.sql.transaction(async (tx) => {
      // Two admins revoking each other's last tokens at once must not both pass the check below.
      await tx.query('SELECT pg_advisory_xact_lock(726181)');
      const { rows } = await tx.query(
        `SELECT t.*, u.admin FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1 AND (t.user_id = $2 OR $3)`,
        [tokenId, by.id, by.admin],
      );
      const token = rows[0];
      if (!token) throw notFound('token', tokenId);
      if (token.admin && token.revoked_at === null) {
        const { rows: others } = await tx.query(
          `SELECT count(*)::int AS n FROM tokens t JOIN users u ON u.id = t.user_id
           WHERE u.admin AND t.revoked_at IS NULL AND t.id <> $1`,
          [tokenId],
        );
        if (num(others[0]?.n) === 0) {
          throw new ApiError(409, 'E_LAST_ADMIN_TOKEN', `${tokenId} is the last live token of an admin`, {
            hint: 'Make another admin token first (`reyna server token create --user <admin>`), then revoke this one.',
          });
        }
      }
      const { rows: done } = await tx.query(
        'UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *',
        [tokenId],
      );
      return toToken(done[0] as Row);
    });
  }

  async createApp(userId: string, name: string): Promise<App> {
    const { rows } = await this.sql.query(
      'INSERT INTO apps (id, owner_id, name) VALUES ($1, $2, $3) ON CONFLICT (owner_id, name) DO NOTHING RETURNING *',
      [newId('app'), userId, name],
    );
    if (!rows[0]) {
      throw new ApiError(409, 'E_APP_EXISTS', `You already have an app named "${name}"`, {
        hint: 'Pick another name, or use the existing app (GET /v1/apps).',
      });
    }
    return toApp(rows[0]);
  }

  async listApps(userId: string): Promise<App[]> {
    const { rows } = await this.sql.query('SELECT * FROM apps WHERE owner_id = $1 ORDER BY name', [userId]);
    return rows.map(toApp);
  }

  async getApp(userId: string, appId: string): Promise<App> {
    return toApp(await this.ownApp(this.sql, userId, appId));
  }

  private async ownApp(tx: SqlTx, userId: string, appId: string, lock = false): Promise<Row> {
    const { rows } = await tx.query(`SELECT * FROM apps WHERE id = $1 AND owner_id = $2${lock ? ' FOR UPDATE' : ''}`, [
      appId,
      userId,
    ]);
    if (!rows[0]) throw notFound('app', appId);
    return rows[0];
  }

  async deleteApp(userId: string, appId: string): Promise<Orphans> {
    return this.sql.transaction(async (tx) => {
      await this.ownApp(tx, userId, appId, true);
      const { rows } = await tx.query('SELECT sha256 FROM app_blobs WHERE app_id = $1', [appId]);
      await tx.query('DELETE FROM apps WHERE id = $1', [appId]);
      return {
        orphanedBlobs: await this.collect(
          tx,
          userId,
          rows.map((r) => String(r.sha256)),
        ),
      };
    });
  }

  /**
   * Drops the user's hold on candidate blobs nothing of theirs references any more, then the blobs nobody holds
   * or references; returns those, whose bytes can go.
   */
  private async collect(tx: SqlTx, userId: string, candidates: string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    await tx.query(
      `WITH gone AS (
         DELETE FROM user_blobs ub WHERE ub.user_id = $1 AND ub.sha256 IN (SELECT jsonb_array_elements_text($2::jsonb))
         AND NOT EXISTS (SELECT 1 FROM app_blobs ab JOIN apps a ON a.id = ab.app_id
                         WHERE ab.sha256 = ub.sha256 AND a.owner_id = $1)
         AND NOT EXISTS (SELECT 1 FROM bucket_objects o JOIN buckets b ON b.id = o.bucket_id
                         WHERE o.sha256 = ub.sha256 AND b.owner_id = $1)
         RETURNING ub.sha256)
       UPDATE users SET blob_count = blob_count - (SELECT count(*) FROM gone),
         blob_bytes = blob_bytes - (SELECT coalesce(sum(b.size), 0) FROM gone JOIN blobs b ON b.sha256 = gone.sha256)
       WHERE id = $1`,
      [userId, json(candidates)],
    );
    const { rows } = await tx.query(
      `DELETE FROM blobs b WHERE b.sha256 IN (SELECT jsonb_array_elements_text($1::jsonb))
       AND NOT EXISTS (SELECT 1 FROM user_blobs ub WHERE ub.sha256 = b.sha256)
       AND NOT EXISTS (SELECT 1 FROM app_blobs ab WHERE ab.sha256 = b.sha256)
       AND NOT EXISTS (SELECT 1 FROM bucket_objects o WHERE o.sha256 = b.sha256)
       RETURNING b.sha256`,
      [json(candidates)],
    );
    return rows.map((r) => String(r.sha256));
  }

  async commit(userId: string, appId: string, request: CommitRequest): Promise<Revision> {
    const made = await this.sql.transaction(async (tx) => {
      // The row lock makes concurrent commits on one app take turns: the second sees the head the first set.
      const app = await this.ownApp(tx, userId, appId, true);
      const head = (app.head as string | null) ?? null;
      if (head !== request.parent) {
        throw new ApiError(
          409,
          'E_HEAD_MOVED',
          `The app's head is ${head ?? 'empty'}, not ${request.parent ?? 'empty'}`,
          {
            hint: 'Pull the newest revision, merge, and commit again on top of it.',
            details: { head },
          },
        );
      }
      const parent = head === null ? undefined : await this.loadManifest(tx, appId, head);
      const before = parent?.files ?? [];
      const changes = request.files ? undefined : sortChanges(request.changes ?? {});
      const files = changes ? applyDelta(before, changes) : sortManifest(request.files ?? {});
      if (request.digest !== undefined && digestSorted(files) !== request.digest) {
        throw new ApiError(
          409,
          'E_BASE_MISMATCH',
          `These changes to ${head ?? 'an empty app'} do not give the manifest their digest names`,
          {
            hint: "The client's record of the parent revision differs from the server's: send the whole manifest (`files`) instead.",
            details: { head },
          },
        );
      }
      // The parent's paths passed the per-path rules; its blobs are this user's and of the sizes it says (they were
      // checked, and the collector keeps the blobs of every revision). So only what is new is checked: with
      // changes, the entries they set (no pass over all files unless a path is new, for the checks across paths);
      // with a whole manifest, what differs from the parent's.
      const sizes = new Map<string, number>();
      let fresh: string[];
      let toCheck: readonly Stored[];
      if (changes) {
        const set = changes.filter((c): c is Stored => c.length === 4);
        const added = new Set(set.filter((c) => findPath(before, c[0]) === undefined).map((c) => c[0]));
        if (added.size > 0) checkPaths(files, { has: (path) => !added.has(path) });
        fresh = [...new Set(set.map((c) => c[1]))];
        toCheck = set;
      } else {
        const inParent = new Set<string>();
        for (const f of before) {
          inParent.add(f[0]);
          sizes.set(f[1], f[2]);
        }
        checkPaths(files, inParent);
        fresh = [...new Set(files.filter((f) => !sizes.has(f[1])).map((f) => f[1]))];
        toCheck = files;
      }
      if (fresh.length > 0) {
        const known = await tx.query(
          `SELECT b.sha256, b.size FROM blobs b JOIN user_blobs ub ON ub.sha256 = b.sha256 AND ub.user_id = $1
           WHERE b.sha256 IN (SELECT jsonb_array_elements_text($2::jsonb))`,
          [userId, json(fresh)],
        );
        for (const r of known.rows) sizes.set(String(r.sha256), num(r.size));
      }
      const missing = fresh.filter((h) => !sizes.has(h));
      if (missing.length > 0) {
        throw new ApiError(422, 'E_MISSING_BLOBS', `${missing.length} file(s) name blobs that were not uploaded`, {
          hint: 'Upload them first (POST /v1/blobs/missing tells which), then commit again.',
          details: { missing: missing.slice(0, 100) },
        });
      }
      const wrong = toCheck.filter((f) => sizes.get(f[1]) !== f[2]);
      if (wrong.length > 0) {
        const [path, sha256, size] = wrong[0] as Stored;
        throw new ApiError(422, 'E_SIZE_MISMATCH', `"${path}" says ${size} bytes; its blob has ${sizes.get(sha256)}`, {
          hint: 'Recompute the manifest from the files.',
          details: { paths: wrong.slice(0, 100).map((f) => f[0]) },
        });
      }
      // Against the parent's snapshot, while the difference stays small; else a snapshot of its own.
      let snapshot: string | null = null;
      let document: Stored[] | StoredChange[] = files;
      if (parent) {
        const delta = diffSorted(parent.snapshot.files, files);
        if (delta.length <= files.length * SNAPSHOT_SHARE) {
          snapshot = parent.snapshot.id;
          document = delta;
        }
      }

      const id = newId('rev');
      const total = files.reduce((n, f) => n + f[2], 0);
      const { rows } = await tx.query(
        `INSERT INTO revisions (id, app_id, parent, seq, message, file_count, total_size, created_by, snapshot, manifest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [
          id,
          appId,
          head,
          parent ? num(parent.row.seq) + 1 : 1,
          request.message ?? null,
          files.length,
          total,
          userId,
          snapshot,
          JSON.stringify(document),
        ],
      );
      if (fresh.length > 0) {
        await tx.query(
          `INSERT INTO app_blobs (app_id, sha256) SELECT $1, h FROM jsonb_array_elements_text($2::jsonb) AS t(h)
           ON CONFLICT DO NOTHING`,
          [appId, json(fresh)],
        );
      }
      await tx.query('UPDATE apps SET head = $1 WHERE id = $2', [id, appId]);
      return { revision: toRevision(rows[0] as Row), snapshot: snapshot === null ? files : undefined };
    });
    // Committed: the next commit on top of it starts from this snapshot.
    if (made.snapshot) this.snapshots.put(made.revision.id, made.snapshot);
    return made.revision;
  }

  /**
   * A revision's files in path order, and the snapshot a delta on top of it is taken against (itself, when it is a
   * snapshot). Undefined when the app has no such revision.
   */
  private async loadManifest(
    tx: SqlTx,
    appId: string,
    revisionId: string,
  ): Promise<{ row: Row; files: Stored[]; snapshot: { id: string; files: Stored[] } } | undefined> {
    const cached = this.snapshots.get(revisionId);
    const { rows } = await tx.query(
      `SELECT id, app_id, parent, seq, message, file_count, total_size, created_by, created_at, snapshot,
         CASE WHEN $3 THEN NULL ELSE manifest END AS manifest
       FROM revisions WHERE id = $1 AND app_id = $2`,
      [revisionId, appId, cached !== undefined],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.snapshot === null) {
      const files = cached ?? this.snapshots.put(revisionId, JSON.parse(String(row.manifest)) as Stored[]);
      return { row, files, snapshot: { id: revisionId, files } };
    }
    const snapshotId = String(row.snapshot);
    let base = this.snapshots.get(snapshotId);
    if (!base) {
      const { rows: s } = await tx.query('SELECT manifest FROM revisions WHERE id = $1', [snapshotId]);
      base = this.snapshots.put(snapshotId, JSON.parse(String(s[0]?.manifest)) as Stored[]);
    }
    const delta = JSON.parse(String(row.manifest)) as StoredChange[];
    return { row, files: applyDelta(base, delta), snapshot: { id: snapshotId, files: base } };
  }

  async listRevisions(userId: string, appId: string, limit: number): Promise<Revision[]> {
    await this.ownApp(this.sql, userId, appId);
    const { rows } = await this.sql.query(
      `SELECT id, app_id, parent, seq, message, file_count, total_size, created_by, created_at FROM revisions
       WHERE app_id = $1 ORDER BY seq DESC LIMIT $2`,
      [appId, limit],
    );
    return rows.map(toRevision);
  }

  async getRevision(userId: string, appId: string, revisionId: string): Promise<RevisionWithFiles> {
    await this.ownApp(this.sql, userId, appId);
    const loaded = await this.loadManifest(this.sql, appId, revisionId);
    if (!loaded) throw notFound('revision', revisionId);
    return { ...toRevision(loaded.row), files: toManifest(loaded.files) as RevisionWithFiles['files'] };
  }

  async missingBlobs(userId: string, hashes: string[]): Promise<string[]> {
    const unique = [...new Set(hashes)];
    if (unique.length === 0) return [];
    const { rows } = await this.sql.query(
      `SELECT t.h FROM jsonb_array_elements_text($2::jsonb) AS t(h)
       WHERE NOT EXISTS (SELECT 1 FROM user_blobs ub WHERE ub.user_id = $1 AND ub.sha256 = t.h)`,
      [userId, json(unique)],
    );
    return rows.map((r) => String(r.h));
  }

  async blobExists(sha256: string): Promise<boolean> {
    const { rows } = await this.sql.query('SELECT 1 FROM blobs WHERE sha256 = $1', [sha256]);
    return rows.length > 0;
  }

  /** Of `blobs`, those the user does not hold yet, and the user's totals with them; throws past a quota. */
  private async quotaAfter(tx: SqlTx, userId: string, blobs: { sha256: string; size: number }[], quotas: Quotas) {
    const unique = [...new Map(blobs.map((b) => [b.sha256, b])).values()];
    const have = new Set(
      (
        await tx.query(
          `SELECT sha256 FROM user_blobs WHERE user_id = $1 AND sha256 IN (SELECT jsonb_array_elements_text($2::jsonb))`,
          [userId, json(unique.map((b) => b.sha256))],
        )
      ).rows.map((r) => String(r.sha256)),
    );
    const fresh = unique.filter((b) => !have.has(b.sha256));
    const { rows } = await tx.query('SELECT blob_count, blob_bytes FROM users WHERE id = $1', [userId]);
    const count = num(rows[0]?.blob_count) + fresh.length;
    const bytes = num(rows[0]?.blob_bytes) + fresh.reduce((n, b) => n + b.size, 0);
    if (fresh.length > 0 && (count > quotas.blobs || bytes > quotas.bytes)) {
      const which = count > quotas.blobs ? `${quotas.blobs} blobs` : `${quotas.bytes} bytes`;
      throw new ApiError(429, 'E_QUOTA_EXCEEDED', `This upload would take you past your quota of ${which}`, {
        hint: 'Delete apps or bucket objects you no longer need, or ask the server admin for a larger quota.',
        details: { quota: quotas },
      });
    }
    return { have, fresh, count, bytes };
  }

  async checkQuota(userId: string, blobs: { sha256: string; size: number }[], quotas: Quotas): Promise<void> {
    await this.quotaAfter(this.sql, userId, blobs, quotas);
  }

  addBlobs(userId: string, blobs: { sha256: string; size: number }[], quotas: Quotas): Promise<boolean[]> {
    return this.sql.transaction(async (tx) => {
      // One user's uploads take turns, so two parallel batches cannot both squeeze under the quota.
      await tx.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const { have, fresh, count, bytes } = await this.quotaAfter(tx, userId, blobs, quotas);
      if (fresh.length > 0) {
        await tx.query('UPDATE users SET blob_count = $2, blob_bytes = $3 WHERE id = $1', [userId, count, bytes]);
        const list = json(fresh);
        await tx.query(
          `INSERT INTO blobs (sha256, size) SELECT b.sha256, b.size FROM jsonb_to_recordset($1::jsonb) AS b(sha256 text, size bigint) ON CONFLICT DO NOTHING`,
          [list],
        );
        await tx.query(
          `INSERT INTO user_blobs (user_id, sha256) SELECT $1, b.sha256 FROM jsonb_to_recordset($2::jsonb) AS b(sha256 text) ON CONFLICT DO NOTHING`,
          [userId, list],
        );
      }
      return blobs.map((b) => !have.has(b.sha256));
    });
  }

  async blobSize(userId: string, sha256: string): Promise<number | undefined> {
    const { rows } = await this.sql.query(
      `SELECT b.size FROM blobs b WHERE b.sha256 = $2 AND (
         EXISTS (SELECT 1 FROM user_blobs ub WHERE ub.sha256 = b.sha256 AND ub.user_id = $1)
         OR EXISTS (SELECT 1 FROM bucket_objects o JOIN bucket_shares s ON s.bucket_id = o.bucket_id
                    WHERE o.sha256 = b.sha256 AND s.user_id = $1))`,
      [userId, sha256],
    );
    return rows[0] ? num(rows[0].size) : undefined;
  }

  async listBlobs(userId: string, prefix: string, cursor: string | undefined, limit: number) {
    // Keyset pagination on the primary key (user_id, sha256): every page is an index range, however deep. Hex
    // digits sort alike in every collation, so the default one (the index's) gives the order the cursor assumes.
    const { rows } = await this.sql.query(
      `SELECT ub.sha256, b.size, ub.created_at FROM user_blobs ub JOIN blobs b ON b.sha256 = ub.sha256
       WHERE ub.user_id = $1 AND starts_with(ub.sha256, $2) AND ub.sha256 > $3
       ORDER BY ub.sha256 LIMIT $4`,
      [userId, prefix, cursor ?? '', limit + 1],
    );
    const blobs: BlobEntry[] = rows
      .slice(0, limit)
      .map((r) => ({ sha256: String(r.sha256), size: num(r.size), createdAt: iso(r.created_at) }));
    return { blobs, cursor: rows.length > limit ? (blobs.at(-1)?.sha256 ?? null) : null };
  }

  // Buckets

  async createBucket(userId: string, name: string, quotas: Quotas): Promise<Bucket> {
    return this.sql.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const { rows: count } = await tx.query('SELECT count(*)::int AS n FROM buckets WHERE owner_id = $1', [userId]);
      if (num(count[0]?.n) >= quotas.buckets) {
        throw new ApiError(429, 'E_QUOTA_EXCEEDED', `You have ${quotas.buckets} buckets, your quota`, {
          hint: 'Delete a bucket you no longer need, or ask the server admin for a larger quota.',
          details: { quota: quotas },
        });
      }
      const { rows } = await tx.query(
        'INSERT INTO buckets (id, owner_id, name) VALUES ($1, $2, $3) ON CONFLICT (owner_id, name) DO NOTHING RETURNING *',
        [newId('bkt'), userId, name],
      );
      if (!rows[0])
        throw new ApiError(409, 'E_BUCKET_EXISTS', `You already have a bucket named "${name}"`, {
          hint: 'Pick another name.',
        });
      return { ...this.toBucket(rows[0]), access: 'owner' as const };
    });
  }

  private toBucket(r: Row): Bucket {
    return {
      id: String(r.id),
      name: String(r.name),
      ownerId: String(r.owner_id),
      access: (r.access as Bucket['access']) ?? 'owner',
      createdAt: iso(r.created_at),
    };
  }

  async listBuckets(userId: string): Promise<Bucket[]> {
    const { rows } = await this.sql.query(
      `SELECT b.*, CASE WHEN b.owner_id = $1 THEN 'owner' ELSE s.access END AS access
       FROM buckets b LEFT JOIN bucket_shares s ON s.bucket_id = b.id AND s.user_id = $1
       WHERE b.owner_id = $1 OR s.user_id IS NOT NULL ORDER BY b.name, b.id`,
      [userId],
    );
    return rows.map((r) => this.toBucket(r));
  }

  async getBucket(userId: string, bucketId: string, need: Access | 'owner'): Promise<Bucket> {
    return this.accessBucket(this.sql, userId, bucketId, need);
  }

  private async accessBucket(tx: SqlTx, userId: string, bucketId: string, need: Access | 'owner'): Promise<Bucket> {
    const { rows } = await tx.query(
      `SELECT b.*, CASE WHEN b.owner_id = $2 THEN 'owner' ELSE s.access END AS access
       FROM buckets b LEFT JOIN bucket_shares s ON s.bucket_id = b.id AND s.user_id = $2
       WHERE b.id = $1 AND (b.owner_id = $2 OR s.user_id IS NOT NULL)`,
      [bucketId, userId],
    );
    if (!rows[0]) throw notFound('bucket', bucketId);
    const bucket = this.toBucket(rows[0]);
    const ok = bucket.access === 'owner' || need === 'read' || (need === 'write' && bucket.access === 'write');
    if (!ok) {
      throw new ApiError(403, 'E_FORBIDDEN', `Bucket "${bucket.name}" is shared with you ${bucket.access}-only`, {
        hint: need === 'owner' ? 'Only its owner may do this.' : 'Ask its owner for write access.',
      });
    }
    return bucket;
  }

  async deleteBucket(userId: string, bucketId: string): Promise<Orphans> {
    return this.sql.transaction(async (tx) => {
      const bucket = await this.accessBucket(tx, userId, bucketId, 'owner');
      const { rows } = await tx.query('SELECT DISTINCT sha256 FROM bucket_objects WHERE bucket_id = $1', [bucketId]);
      await tx.query('DELETE FROM buckets WHERE id = $1', [bucketId]);
      return {
        orphanedBlobs: await this.collect(
          tx,
          bucket.ownerId,
          rows.map((r) => String(r.sha256)),
        ),
      };
    });
  }

  private async writeObject(
    tx: SqlTx,
    userId: string,
    bucketId: string,
    key: string,
    request: PutObjectRequest,
  ): Promise<BucketObject> {
    const blob = await tx.query(
      `SELECT b.size FROM blobs b JOIN user_blobs ub ON ub.sha256 = b.sha256 AND ub.user_id = $1 WHERE b.sha256 = $2`,
      [userId, request.sha256],
    );
    if (!blob.rows[0]) {
      throw new ApiError(422, 'E_MISSING_BLOBS', `Blob ${request.sha256} was not uploaded`, {
        hint: 'Upload it first with PUT /v1/blobs/<sha256>.',
        details: { missing: [request.sha256] },
      });
    }
    const { rows } = await tx.query(
      `INSERT INTO bucket_objects (bucket_id, key, sha256, size, content_type, metadata) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (bucket_id, key) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
         content_type = EXCLUDED.content_type, metadata = EXCLUDED.metadata, updated_at = now()
       RETURNING *`,
      [
        bucketId,
        key,
        request.sha256,
        num(blob.rows[0].size),
        request.contentType ?? DEFAULT_CONTENT_TYPE,
        json(request.metadata ?? {}),
      ],
    );
    return toObject(rows[0] as Row);
  }

  putObject(userId: string, bucketId: string, key: string, request: PutObjectRequest): Promise<BucketObject> {
    return this.sql.transaction(async (tx) => {
      await this.accessBucket(tx, userId, bucketId, 'write');
      return this.writeObject(tx, userId, bucketId, key, request);
    });
  }

  async getObject(userId: string, bucketId: string, key: string): Promise<BucketObject> {
    await this.accessBucket(this.sql, userId, bucketId, 'read');
    return this.readObject(bucketId, key);
  }

  private async readObject(bucketId: string, key: string): Promise<BucketObject> {
    const { rows } = await this.sql.query('SELECT * FROM bucket_objects WHERE bucket_id = $1 AND key = $2', [
      bucketId,
      key,
    ]);
    if (!rows[0]) throw notFound('object', key);
    return toObject(rows[0]);
  }

  async listObjects(userId: string, bucketId: string, prefix: string, cursor: string | undefined, limit: number) {
    await this.accessBucket(this.sql, userId, bucketId, 'read');
    return this.listFrom(bucketId, prefix, cursor, limit);
  }

  private async listFrom(bucketId: string, prefix: string, cursor: string | undefined, limit: number) {
    const after = cursor === undefined ? '' : Buffer.from(cursor, 'base64url').toString('utf8');
    const { rows } = await this.sql.query(
      `SELECT * FROM bucket_objects WHERE bucket_id = $1 AND starts_with(key, $2) AND key COLLATE "C" > $3
       ORDER BY key COLLATE "C" LIMIT $4`,
      [bucketId, prefix, after, limit + 1],
    );
    const more = rows.length > limit;
    const objects = rows.slice(0, limit).map(toObject);
    const last = objects.at(-1);
    return { objects, cursor: more && last ? Buffer.from(last.key).toString('base64url') : null };
  }

  async deleteObject(userId: string, bucketId: string, key: string): Promise<Orphans> {
    return this.sql.transaction(async (tx) => {
      const bucket = await this.accessBucket(tx, userId, bucketId, 'write');
      const { rows } = await tx.query('DELETE FROM bucket_objects WHERE bucket_id = $1 AND key = $2 RETURNING sha256', [
        bucketId,
        key,
      ]);
      if (!rows[0]) throw notFound('object', key);
      return { orphanedBlobs: await this.collect(tx, bucket.ownerId, [String(rows[0].sha256)]) };
    });
  }

  batch(userId: string, bucketId: string, ops: BatchOp[]): Promise<Orphans & { applied: number }> {
    return this.sql.transaction(async (tx) => {
      const bucket = await this.accessBucket(tx, userId, bucketId, 'write');
      const candidates: string[] = [];
      for (const op of ops) {
        if (op.op === 'put') {
          const { op: _op, key, ...request } = op;
          await this.writeObject(tx, userId, bucketId, key, request);
        } else if (op.op === 'delete') {
          const { rows } = await tx.query(
            'DELETE FROM bucket_objects WHERE bucket_id = $1 AND key = $2 RETURNING sha256',
            [bucketId, op.key],
          );
          if (!rows[0]) throw notFound('object', op.key);
          candidates.push(String(rows[0].sha256));
        } else {
          const { rows } = await tx.query('DELETE FROM bucket_objects WHERE bucket_id = $1 AND key = $2 RETURNING *', [
            bucketId,
            op.from,
          ]);
          const from = rows[0];
          if (!from) throw notFound('object', op.from);
          const dest = await tx.query('DELETE FROM bucket_objects WHERE bucket_id = $1 AND key = $2 RETURNING sha256', [
            bucketId,
            op.to,
          ]);
          if (dest.rows[0]) candidates.push(String(dest.rows[0].sha256));
          await tx.query(
            `INSERT INTO bucket_objects (bucket_id, key, sha256, size, content_type, metadata) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
            [
              bucketId,
              op.to,
              from.sha256,
              from.size,
              from.content_type,
              json(typeof from.metadata === 'string' ? JSON.parse(from.metadata) : from.metadata),
            ],
          );
        }
      }
      return { applied: ops.length, orphanedBlobs: await this.collect(tx, bucket.ownerId, candidates) };
    });
  }

  share(userId: string, bucketId: string, userName: string, access: Access | null) {
    return this.sql.transaction(async (tx) => {
      await this.accessBucket(tx, userId, bucketId, 'owner');
      const { rows: users } = await tx.query('SELECT id FROM users WHERE name = $1', [userName]);
      if (!users[0]) throw notFound('user', userName);
      if (users[0].id === userId)
        throw new ApiError(422, 'E_SHARE_SELF', 'You own this bucket already', { hint: 'Share with another user.' });
      if (access === null) {
        const { rowCount } = await tx.query('DELETE FROM bucket_shares WHERE bucket_id = $1 AND user_id = $2', [
          bucketId,
          users[0].id,
        ]);
        if (rowCount === 0) throw notFound('share', userName);
      } else {
        await tx.query(
          `INSERT INTO bucket_shares (bucket_id, user_id, access) VALUES ($1, $2, $3) ON CONFLICT (bucket_id, user_id) DO UPDATE SET access = EXCLUDED.access`,
          [bucketId, users[0].id, access],
        );
      }
      const { rows } = await tx.query(
        'SELECT u.name, s.access FROM bucket_shares s JOIN users u ON u.id = s.user_id WHERE s.bucket_id = $1 ORDER BY u.name',
        [bucketId],
      );
      return rows.map((r) => ({ user: String(r.name), access: r.access as Access }));
    });
  }

  async createLink(userId: string, bucketId: string): Promise<PublicLink> {
    await this.accessBucket(this.sql, userId, bucketId, 'owner');
    const { rows } = await this.sql.query('INSERT INTO bucket_links (id, bucket_id) VALUES ($1, $2) RETURNING *', [
      newId('pub', 24),
      bucketId,
    ]);
    return toLink(rows[0] as Row);
  }

  async listLinks(userId: string, bucketId: string): Promise<PublicLink[]> {
    await this.accessBucket(this.sql, userId, bucketId, 'owner');
    const { rows } = await this.sql.query('SELECT * FROM bucket_links WHERE bucket_id = $1 ORDER BY created_at, id', [
      bucketId,
    ]);
    return rows.map(toLink);
  }

  async revokeLink(userId: string, bucketId: string, linkId: string): Promise<PublicLink> {
    await this.accessBucket(this.sql, userId, bucketId, 'owner');
    const { rows } = await this.sql.query(
      'UPDATE bucket_links SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND bucket_id = $2 RETURNING *',
      [linkId, bucketId],
    );
    if (!rows[0]) throw notFound('link', linkId);
    return toLink(rows[0]);
  }

  async bucketWatchers(bucketId: string): Promise<{ ownerId: string; sharedWith: string[] }> {
    const { rows } = await this.sql.query(
      `SELECT b.owner_id, coalesce((SELECT jsonb_agg(s.user_id ORDER BY s.user_id) FROM bucket_shares s WHERE s.bucket_id = b.id), '[]') AS shared
       FROM buckets b WHERE b.id = $1`,
      [bucketId],
    );
    if (!rows[0]) throw notFound('bucket', bucketId);
    const shared = typeof rows[0].shared === 'string' ? JSON.parse(rows[0].shared) : rows[0].shared;
    return { ownerId: String(rows[0].owner_id), sharedWith: (shared as unknown[]).map(String) };
  }

  async linkBucket(linkId: string): Promise<{ bucketId: string; ownerId: string }> {
    const { rows } = await this.sql.query(
      'SELECT b.id, b.owner_id FROM bucket_links l JOIN buckets b ON b.id = l.bucket_id WHERE l.id = $1 AND l.revoked_at IS NULL',
      [linkId],
    );
    if (!rows[0]) throw notFound('link', linkId);
    return { bucketId: String(rows[0].id), ownerId: String(rows[0].owner_id) };
  }

  /** For public links: reads without a user (the link was checked by linkBucket). */
  publicObject(bucketId: string, key: string) {
    return this.readObject(bucketId, key);
  }

  publicList(bucketId: string, prefix: string, cursor: string | undefined, limit: number) {
    return this.listFrom(bucketId, prefix, cursor, limit);
  }

  // Records

  private async checkRevision(tx: SqlTx, appId: string, revision: string | null | undefined) {
    if (!revision) return null;
    const { rows } = await tx.query('SELECT 1 FROM revisions WHERE id = $1 AND app_id = $2', [revision, appId]);
    if (!rows[0]) throw notFound('revision', revision);
    return revision;
  }

  async createDeployment(userId: string, appId: string, request: CreateDeploymentRequest): Promise<Deployment> {
    await this.ownApp(this.sql, userId, appId);
    const revision = await this.checkRevision(this.sql, appId, request.revision);
    const { rows } = await this.sql.query(
      `INSERT INTO deployments (id, app_id, revision_id, target, version_id, url, status, bytes_uploaded, duration_ms, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        newId('dep'),
        appId,
        revision,
        request.target,
        request.versionId ?? null,
        request.url ?? null,
        request.status,
        request.bytesUploaded ?? 0,
        request.durationMs ?? 0,
        userId,
      ],
    );
    return toDeployment(rows[0] as Row);
  }

  async listDeployments(userId: string, appId: string): Promise<Deployment[]> {
    await this.ownApp(this.sql, userId, appId);
    const { rows } = await this.sql.query(
      'SELECT * FROM deployments WHERE app_id = $1 ORDER BY created_at DESC, id LIMIT 100',
      [appId],
    );
    return rows.map(toDeployment);
  }

  async createBuild(userId: string, appId: string, request: CreateBuildRequest): Promise<Build> {
    await this.ownApp(this.sql, userId, appId);
    const revision = await this.checkRevision(this.sql, appId, request.revision);
    const { rows } = await this.sql.query(
      `INSERT INTO builds (id, app_id, revision_id, status, duration_ms, sizes, logs, created_by)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING *`,
      [
        newId('bld'),
        appId,
        revision,
        request.status,
        request.durationMs,
        json(request.sizes ?? {}),
        request.logs ?? null,
        userId,
      ],
    );
    return toBuild(rows[0] as Row);
  }

  async listBuilds(userId: string, appId: string): Promise<Build[]> {
    await this.ownApp(this.sql, userId, appId);
    const { rows } = await this.sql.query(
      'SELECT * FROM builds WHERE app_id = $1 ORDER BY created_at DESC, id LIMIT 100',
      [appId],
    );
    return rows.map(toBuild);
  }

  async countRequests(counts: RequestCounts): Promise<void> {
    const users = [...counts.users].map(([user_id, n]) => ({ user_id, n }));
    const apps = [...new Set([...counts.apps.keys(), ...counts.edge.keys()])].map((app_id) => ({
      app_id,
      api: counts.apps.get(app_id) ?? 0,
      edge: counts.edge.get(app_id) ?? 0,
    }));
    if (users.length > 0) {
      await this.sql.query(
        `INSERT INTO user_requests (user_id, requests) SELECT c.user_id, c.n FROM jsonb_to_recordset($1::jsonb) AS c(user_id text, n bigint)
         WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
         ON CONFLICT (user_id) DO UPDATE SET requests = user_requests.requests + EXCLUDED.requests`,
        [json(users)],
      );
    }
    if (apps.length > 0) {
      await this.sql.query(
        `INSERT INTO app_requests (app_id, requests, edge_requests)
         SELECT c.app_id, c.api, c.edge FROM jsonb_to_recordset($1::jsonb) AS c(app_id text, api bigint, edge bigint)
         WHERE EXISTS (SELECT 1 FROM apps a WHERE a.id = c.app_id)
         ON CONFLICT (app_id) DO UPDATE SET requests = app_requests.requests + EXCLUDED.requests,
           edge_requests = app_requests.edge_requests + EXCLUDED.edge_requests`,
        [json(apps)],
      );
    }
  }

  async usage(userId: string, quotas: Quotas): Promise<Usage> {
    const { rows: u } = await this.sql.query(
      `SELECT u.id, u.name,
         u.blob_count AS blobs, u.blob_bytes AS bytes,
         (SELECT count(*)::int FROM buckets k WHERE k.owner_id = u.id) AS buckets,
         (SELECT count(*)::int FROM apps a WHERE a.owner_id = u.id) AS apps,
         (SELECT count(*)::int FROM builds b JOIN apps a ON a.id = b.app_id WHERE a.owner_id = u.id) AS builds,
         (SELECT coalesce(sum(b.duration_ms), 0)::bigint FROM builds b JOIN apps a ON a.id = b.app_id WHERE a.owner_id = u.id) AS build_ms,
         (SELECT count(*)::int FROM deployments d JOIN apps a ON a.id = d.app_id WHERE a.owner_id = u.id) AS deployments,
         (SELECT coalesce(requests, 0) FROM user_requests r WHERE r.user_id = u.id) AS requests
       FROM users u WHERE u.id = $1`,
      [userId],
    );
    const { rows: apps } = await this.sql.query(
      `SELECT a.id, a.name,
         (SELECT count(*)::int FROM revisions r WHERE r.app_id = a.id) AS revisions,
         f.blobs, f.bytes,
         (SELECT count(*)::int FROM builds b WHERE b.app_id = a.id) AS builds,
         (SELECT coalesce(sum(duration_ms), 0)::bigint FROM builds b WHERE b.app_id = a.id) AS build_ms,
         (SELECT count(*)::int FROM deployments d WHERE d.app_id = a.id) AS deployments,
         (SELECT coalesce(sum(bytes_uploaded), 0)::bigint FROM deployments d WHERE d.app_id = a.id) AS deployed,
         coalesce(q.requests, 0) AS requests, coalesce(q.edge_requests, 0) AS edge_requests
       FROM apps a
       LEFT JOIN app_requests q ON q.app_id = a.id
       CROSS JOIN LATERAL (
         SELECT count(*)::int AS blobs, coalesce(sum(b.size), 0)::bigint AS bytes
         FROM app_blobs ab JOIN blobs b ON b.sha256 = ab.sha256 WHERE ab.app_id = a.id
       ) f
       WHERE a.owner_id = $1 ORDER BY a.name`,
      [userId],
    );
    const me = u[0] as Row;
    return {
      user: {
        id: String(me.id),
        name: String(me.name),
        blobs: num(me.blobs),
        bytesStored: num(me.bytes),
        buckets: num(me.buckets),
        apps: num(me.apps),
        builds: num(me.builds),
        buildSeconds: num(me.build_ms) / 1000,
        deployments: num(me.deployments),
        requests: num(me.requests ?? 0),
        quota: quotas,
      },
      apps: apps.map((a) => ({
        appId: String(a.id),
        name: String(a.name),
        revisions: num(a.revisions),
        blobs: num(a.blobs),
        bytesReferenced: num(a.bytes),
        builds: num(a.builds),
        buildSeconds: num(a.build_ms) / 1000,
        deployments: num(a.deployments),
        bytesDeployed: num(a.deployed),
        requests: num(a.requests),
        edgeRequests: num(a.edge_requests),
      })),
    };
  }

  async blobTotals(): Promise<{ blobs: number; bytes: number }> {
    const { rows } = await this.sql.query(
      'SELECT count(*)::int AS n, coalesce(sum(size), 0)::bigint AS bytes FROM blobs',
    );
    return { blobs: num(rows[0]?.n), bytes: num(rows[0]?.bytes) };
  }
}
