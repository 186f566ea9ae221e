import { randomBytes } from 'node:crypto';
import {
  AppList,
  App as AppSchema,
  BatchRequest,
  BatchResponse,
  BLOB_BATCH_TYPE,
  BlobBatchResponse,
  BlobInfo,
  BlobList,
  BlobListQuery,
  Bucket,
  BucketExport,
  BucketList,
  BucketObject,
  Build,
  BuildList,
  CommitRequest,
  CreateAppRequest,
  CreateBucketRequest,
  CreateBuildRequest,
  CreateDeploymentRequest,
  CreatedToken,
  CreateTokenRequest,
  Deployment,
  DeploymentList,
  Health,
  LinkList,
  MissingRequest,
  MissingResponse,
  ObjectKey,
  ObjectList,
  PublicLink,
  PutObjectRequest,
  Revision,
  RevisionList,
  RevisionWithFiles,
  Sha256,
  ShareList,
  ShareRequest,
  TokenInfo,
  TokenList,
  Usage,
  WhoAmI,
} from '@reyna/core/protocol';
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { ByteReader } from './_bytes.js';
import { hashToken } from './_ids.js';
import { tooLarge } from './adapters/blobs-fs.js';
import type { BlobStore, StagedBlob } from './blob-store.js';
import type { Edge } from './edge/host.js';
import { registerEdgeRoutes } from './edge/routes.js';
import { ApiError, badInput } from './errors.js';
import type { EventBus } from './event-bus.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { Metrics } from './metrics.js';
import { buildOpenApi, type RouteSpec } from './openapi.js';
import { RateLimiter } from './rate-limit.js';
import type { Orphans, Principal, RequestCounts, Store } from './store.js';

/** The part of a pino logger the server uses. */
export interface ServerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): ServerLogger;
}

const silent: ServerLogger = { info() {}, warn() {}, error() {}, child: () => silent };

export interface ServerOptions {
  store: Store;
  blobs: BlobStore;
  events: EventBus;
  limits?: Partial<Limits>;
  logger?: ServerLogger;
  /** Reported by /healthz. */
  version?: string;
  /** The local edge that `/v1/apps/{appId}/edge/*` deploys to; without it those routes answer 503. */
  edge?: Edge;
}

type Env = { Variables: { principal: Principal; requestId: string; log: ServerLogger } };
type C = Context<Env>;

/** The whole studio server as a Hono app, with no port: `app.request()` in tests, `listen()` to serve. */
export function createServer(options: ServerOptions) {
  const { store, blobs, events } = options;
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    ...options.limits,
    quotas: { ...DEFAULT_LIMITS.quotas, ...options.limits?.quotas },
  };
  const logger = options.logger ?? silent;
  const metrics = new Metrics();
  const limiter = new RateLimiter(limits.rateLimit, limits.rateWindowMs);
  const specs: RouteSpec[] = [];
  let requestCounts: RequestCounts = { users: new Map(), apps: new Map(), edge: new Map() };
  const flush = async () => {
    const counts = { ...requestCounts, edge: options.edge?.takeServed() ?? new Map<string, number>() };
    requestCounts = { users: new Map(), apps: new Map(), edge: new Map() };
    if (counts.users.size + counts.apps.size + counts.edge.size === 0) return;
    await store
      .countRequests(counts)
      .catch((error: Error) => logger.warn({ err: error.message }, 'could not save request counts'));
  };
  const flushTimer = setInterval(() => void flush(), 5000);
  flushTimer.unref();

  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    const requestId = /^[\w.-]{1,64}$/.test(c.req.header('x-request-id') ?? '')
      ? (c.req.header('x-request-id') as string)
      : randomBytes(8).toString('hex');
    const log = logger.child({ requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.header('x-request-id', requestId);
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(c.req.method, c.req.routePath || 'unmatched', c.res.status, seconds);
    // Authentication may have swapped in a child logger that names the user: the request line should too.
    (c.get('log') ?? log).info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 1000) },
      'request',
    );
  });

  app.onError((error, c) => {
    if (error instanceof ApiError) {
      if (error.retryAfter !== undefined) c.header('Retry-After', String(error.retryAfter));
      return c.json(error.toJSON(), error.status as 400);
    }
    c.get('log')?.error({ err: error.message, stack: error.stack }, 'unhandled error');
    return c.json(
      {
        error: {
          code: 'E_INTERNAL',
          message: 'The server failed to answer',
          hint: `Report it with request id ${c.get('requestId')}.`,
        },
      },
      500,
    );
  });

  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'E_NO_ROUTE',
          message: `No route ${c.req.method} ${c.req.path}`,
          hint: 'See GET /v1/openapi.json.',
        },
      },
      404,
    ),
  );

  /** Registers a route and its OpenAPI entry in one go. */
  function route(spec: RouteSpec, handler: (c: C) => Promise<Response> | Response) {
    specs.push(spec);
    const path = spec.path.replace(/\{(\w+)\}/g, ':$1').replace(':key', ':key{.+}');
    const perApp = path.startsWith('/v1/apps/:appId');
    app.on(spec.method.toUpperCase(), path, async (c) => {
      const res = await handler(c as C);
      // Only an answered request is the app's: a refused one may name an app the caller cannot see.
      if (perApp) bump(requestCounts.apps, c.req.param('appId') ?? '');
      return res;
    });
  }

  // Authentication and rate limits for every /v1 route but the public ones.
  app.use('/v1/*', async (c, next) => {
    if (c.req.path === '/v1/openapi.json' || c.req.path.startsWith('/v1/public/')) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      throw new ApiError(401, 'E_UNAUTHORIZED', 'This needs an API token', {
        hint: 'Send "Authorization: Bearer <token>"; run `reyna login` or set REYNA_TOKEN.',
      });
    }
    const hash = hashToken(match[1]);
    const principal = await store.authenticate(hash);
    if (!principal) {
      // Only a failed check pays for the second look-up that tells a revoked token from a wrong one.
      const revokedAt = await store.tokenRevokedAt(hash);
      if (revokedAt) {
        throw new ApiError(401, 'E_TOKEN_REVOKED', `This API token was revoked at ${revokedAt}`, {
          hint: 'Run `reyna login` with a current token, or ask the server admin for a new one (`reyna server token create`).',
        });
      }
      throw new ApiError(401, 'E_UNAUTHORIZED', 'The API token is not valid', {
        hint: 'Run `reyna login` with a current token, or ask the server admin for one (`reyna server token create`).',
      });
    }
    const wait = limiter.hit(principal.token.id);
    if (wait !== undefined) {
      throw new ApiError(
        429,
        'E_RATE_LIMITED',
        `More than ${limits.rateLimit} requests in ${limits.rateWindowMs / 1000} s with this token`,
        {
          hint: `Wait ${wait} s (Retry-After) and try again; batch calls (/v1/blobs/batch, /v1/blobs/missing) use fewer requests.`,
          retryAfter: wait,
        },
      );
    }
    bump(requestCounts.users, principal.user.id);
    c.set('principal', principal);
    c.set('log', c.get('log').child({ userId: principal.user.id, user: principal.user.name }));
    return next();
  });

  const me = (c: C) => c.get('principal').user;

  async function json<S extends z.ZodType>(c: C, schema: S): Promise<z.infer<S>> {
    const tooBig = () =>
      new ApiError(413, 'E_BODY_TOO_LARGE', `The request body is over ${limits.jsonBytes} bytes`, {
        hint: 'Split the request into smaller ones.',
        details: { limit: limits.jsonBytes },
      });
    if (Number(c.req.header('content-length') ?? 0) > limits.jsonBytes) throw tooBig();
    // Counted while it streams in: a body without Content-Length must not fill the memory either.
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of c.req.raw.body ?? emptyBody()) {
      size += chunk.byteLength;
      if (size > limits.jsonBytes) throw tooBig();
      parts.push(chunk);
    }
    const text = Buffer.concat(parts).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiError(400, 'E_BAD_JSON', `The request body is not JSON: ${(error as Error).message}`, {
        hint: 'Send a JSON document.',
      });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first?.path.length ? first.path.join('.') : 'body';
      throw badInput(`${where}: ${first?.message ?? 'invalid'}`, { issues: parsed.error.issues.slice(0, 20) });
    }
    return parsed.data;
  }

  function param(c: C, name: string, schema: z.ZodType = ObjectKey): string {
    const value = c.req.param(name) ?? '';
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw badInput(`${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return value;
  }

  async function dropOrphans(orphans: Orphans, log: ServerLogger) {
    for (const sha of orphans.orphanedBlobs) {
      await blobs
        .delete(sha)
        .catch((error: Error) => log.warn({ err: error.message, sha }, 'could not delete blob bytes'));
    }
  }

  /**
   * Publishes an event for the users in `audience` (default: `data.ownerId`). The audience travels with the event, so
   * a server process on NATS that did not make the change still knows whose streams it goes to.
   */
  function publish(subject: string, data: Record<string, unknown>, log: ServerLogger, audience?: string[]) {
    events
      .publish(subject, { ...data, audience: audience ?? [String(data.ownerId)] })
      .catch((error: Error) => log.warn({ err: error.message, subject }, 'could not publish event'));
  }

  /** `bucket.changed.<bucketId>` for its owner and everyone it is shared with, whoever made the change. */
  async function bucketChanged(
    c: C,
    bucketId: string,
    change: Record<string, unknown>,
    watchers?: { ownerId: string; sharedWith: string[] },
  ) {
    const log = c.get('log');
    // The change is committed: a failed lookup (the bucket deleted meanwhile) costs the event, not the answer.
    const to = watchers ?? (await store.bucketWatchers(bucketId).catch(() => undefined));
    if (!to) return log.warn({ bucketId }, 'bucket gone before its change event went out');
    publish(`bucket.changed.${bucketId}`, { ownerId: to.ownerId, by: me(c).id, bucketId, ...change }, log, [
      to.ownerId,
      ...to.sharedWith,
    ]);
  }

  // Service routes

  route({ method: 'get', path: '/healthz', summary: 'Liveness and store kind', auth: false, response: Health }, (c) =>
    c.json({
      ok: true as const,
      version: options.version ?? '0.0.0',
      store: store.kind,
      uptimeSeconds: (Date.now() - metrics.started) / 1000,
    }),
  );
  app.get('/metrics', async (c) =>
    c.text(metrics.render(await store.blobTotals()), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );
  app.get('/v1/openapi.json', (c) => c.json(buildOpenApi(specs, options.version ?? '0.0.0')));

  // Users and tokens

  route({ method: 'get', path: '/v1/whoami', summary: 'The user and token of this request', response: WhoAmI }, (c) =>
    c.json({ user: me(c), token: c.get('principal').token }),
  );
  route(
    {
      method: 'post',
      path: '/v1/tokens',
      summary: 'Create a token (admins only); creates the user when new',
      body: CreateTokenRequest,
      response: CreatedToken,
      status: 201,
    },
    async (c) => {
      if (!me(c).admin)
        throw new ApiError(403, 'E_FORBIDDEN', 'Only an admin may create tokens', {
          hint: 'Ask the server admin to run `reyna server token create --user <you>`.',
        });
      const body = await json(c, CreateTokenRequest);
      const made = await store.createToken(body.user, body.name ?? 'cli', { admin: body.admin });
      c.get('log').info({ tokenUser: body.user, tokenId: made.info.id }, 'token created');
      return c.json(made, 201);
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/tokens',
      summary: 'Your tokens, never their values (admins: ?user=<name> for one user’s, ?all=true for everyone’s)',
      response: TokenList,
    },
    async (c) => {
      const user = c.req.query('user');
      const all = c.req.query('all') === 'true';
      if ((all || (user !== undefined && user !== me(c).name)) && !me(c).admin)
        throw new ApiError(403, 'E_FORBIDDEN', 'Only an admin may list other users’ tokens', {
          hint: 'Leave out --user and --all to list your own.',
        });
      const scope = all ? 'all' : user === undefined ? { userId: me(c).id } : { userName: user };
      return c.json({ tokens: await store.listTokens(scope) });
    },
  );
  route(
    {
      method: 'delete',
      path: '/v1/tokens/{tokenId}',
      summary: 'Revoke a token (yours, or any as admin)',
      response: TokenInfo,
    },
    async (c) => c.json(await store.revokeToken(me(c), c.req.param('tokenId') ?? '')),
  );

  // Apps and revisions

  route(
    {
      method: 'post',
      path: '/v1/apps',
      summary: 'Create an app',
      body: CreateAppRequest,
      response: AppSchema,
      status: 201,
    },
    async (c) => {
      const body = await json(c, CreateAppRequest);
      return c.json(await store.createApp(me(c).id, body.name), 201);
    },
  );
  route({ method: 'get', path: '/v1/apps', summary: 'Your apps', response: AppList }, async (c) =>
    c.json({ apps: await store.listApps(me(c).id) }),
  );
  route({ method: 'get', path: '/v1/apps/{appId}', summary: 'One app', response: AppSchema }, async (c) =>
    c.json(await store.getApp(me(c).id, c.req.param('appId') ?? '')),
  );
  route(
    {
      method: 'delete',
      path: '/v1/apps/{appId}',
      summary: 'Delete an app with its revisions, deployments, builds and unreferenced blobs',
    },
    async (c) => {
      const appId = c.req.param('appId') ?? '';
      const orphans = await store.deleteApp(me(c).id, appId);
      publish(`app.deleted.${appId}`, { ownerId: me(c).id, appId }, c.get('log'));
      await dropOrphans(orphans, c.get('log'));
      return c.body(null, 204);
    },
  );
  route(
    {
      method: 'post',
      path: '/v1/apps/{appId}/revisions',
      summary: 'Commit a revision on top of `parent` (409 when the head moved)',
      body: CommitRequest,
      response: Revision,
      status: 201,
    },
    async (c) => {
      const appId = c.req.param('appId') ?? '';
      const body = await json(c, CommitRequest);
      // The store checks the paths: against the parent's, which passed before, only new paths need every rule.
      const revision = await store.commit(me(c).id, appId, body);
      publish(
        `app.revision.created.${appId}`,
        { ownerId: me(c).id, appId, revision: revision.id, parent: revision.parent },
        c.get('log'),
      );
      return c.json(revision, 201);
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/apps/{appId}/revisions',
      summary: 'Revisions, newest first (?limit=, default 50)',
      response: RevisionList,
    },
    async (c) => {
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 50) || 50, 1), 1000);
      return c.json({ revisions: await store.listRevisions(me(c).id, c.req.param('appId') ?? '', limit) });
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/apps/{appId}/revisions/{revisionId}',
      summary: 'A revision with its manifest',
      response: RevisionWithFiles,
    },
    async (c) => c.json(await store.getRevision(me(c).id, c.req.param('appId') ?? '', c.req.param('revisionId') ?? '')),
  );

  // Blobs

  route(
    {
      method: 'post',
      path: '/v1/blobs/missing',
      summary: 'Which of these hashes you have not uploaded (up to 10,000)',
      body: MissingRequest,
      response: MissingResponse,
    },
    async (c) => {
      const body = await json(c, MissingRequest);
      return c.json({ missing: await store.missingBlobs(me(c).id, body.hashes) });
    },
  );

  /** Commits staged bytes, then records them for the user (quota check); undoes new bytes when that fails. */
  async function keep(c: C, staged: StagedBlob[]): Promise<z.infer<typeof BlobInfo>[]> {
    const list = staged.map((s) => ({ sha256: s.sha256, size: s.size }));
    try {
      // Refuse before writing anything, so a refused upload leaves no file behind.
      await store.checkQuota(me(c).id, list, limits.quotas);
    } catch (error) {
      await Promise.all(staged.map((s) => s.discard()));
      throw error;
    }
    // Bytes first, records second: a crash in between leaves an unreferenced file (harmless), never a record
    // without bytes. Files are never deleted here for the same reason, even when recording fails.
    const present = new Set<StagedBlob>();
    await inParallel(staged, 16, async (s) => {
      if (await blobs.has(s.sha256)) present.add(s);
      else await s.commit();
    });
    const created = await store.addBlobs(me(c).id, list, limits.quotas).catch(async (error: unknown) => {
      await Promise.all([...present].map((s) => s.discard()));
      throw error;
    });
    // Bytes that were there a moment ago may have been collected since (their last reference went away):
    // commit ours after all, now that the record exists again.
    await inParallel([...present], 16, async (s) => {
      if (await blobs.has(s.sha256)) await s.discard();
      else await s.commit();
    });
    for (const s of staged) metrics.upload(s.size);
    const out = staged.map((s, i) => ({ sha256: s.sha256, size: s.size, created: created[i] ?? false }));
    for (const b of out) {
      if (b.created)
        publish(`blob.created.${me(c).id}`, { ownerId: me(c).id, sha256: b.sha256, size: b.size }, c.get('log'));
    }
    return out;
  }

  function checkLength(c: C, limit: number, tooBig: () => ApiError) {
    const length = c.req.header('content-length');
    if (length !== undefined && Number(length) > limit) throw tooBig();
  }

  route(
    {
      method: 'put',
      path: '/v1/blobs/{sha256}',
      summary: 'Upload one blob (raw body); the server checks its SHA-256',
      rawBody: 'application/octet-stream',
      response: BlobInfo,
      status: 201,
    },
    async (c) => {
      const claimed = param(c, 'sha256', Sha256);
      checkLength(c, limits.blobBytes, () => tooLarge(limits.blobBytes));
      const body = c.req.raw.body;
      const staged = await blobs.stage(body ?? emptyBody(), limits.blobBytes);
      if (staged.sha256 !== claimed) {
        await staged.discard();
        throw hashMismatch(claimed, staged.sha256);
      }
      const [info] = await keep(c, [staged]);
      return c.json(info, info?.created ? 201 : 200);
    },
  );

  route(
    {
      method: 'post',
      path: '/v1/blobs/batch',
      summary: `Upload many blobs in one body (${BLOB_BATCH_TYPE}: "<sha256> <size>\\n" + bytes, repeated)`,
      rawBody: BLOB_BATCH_TYPE,
      response: BlobBatchResponse,
    },
    async (c) => {
      const tooBig = () =>
        new ApiError(413, 'E_BODY_TOO_LARGE', `A batch may hold at most ${limits.batchBytes} bytes`, {
          hint: `Split it into batches under ${limits.batchBytes} bytes (REYNA_SERVER_BATCH_BYTES).`,
          details: { limit: limits.batchBytes },
        });
      checkLength(c, limits.batchBytes, tooBig);
      const reader = new ByteReader(c.req.raw.body ?? emptyBody());
      const staged: StagedBlob[] = [];
      let total = 0;
      try {
        for (;;) {
          let header: string | undefined;
          try {
            header = await reader.line(200);
          } catch (error) {
            throw badBatch((error as Error).message);
          }
          if (header === undefined) break;
          const m = /^([0-9a-f]{64}) (\d{1,12})$/.exec(header);
          if (!m) throw badBatch(`blob ${staged.length + 1}: header "${header.slice(0, 80)}" is not "<sha256> <size>"`);
          const size = Number(m[2]);
          if (size > limits.blobBytes) throw tooLarge(limits.blobBytes);
          total += size;
          if (total > limits.batchBytes) throw tooBig();
          if (staged.length >= 10_000) throw badBatch('a batch holds at most 10000 blobs');
          let blob: StagedBlob;
          try {
            blob = await blobs.stage(reader.exactly(size), limits.blobBytes);
          } catch (error) {
            if (error instanceof ApiError) throw error;
            throw badBatch((error as Error).message);
          }
          staged.push(blob);
          if (blob.sha256 !== m[1]) throw hashMismatch(m[1] as string, blob.sha256, staged.length);
        }
      } catch (error) {
        await Promise.all(staged.map((s) => s.discard()));
        throw error;
      }
      return c.json({ blobs: await keep(c, staged) });
    },
  );

  route(
    {
      method: 'get',
      path: '/v1/blobs/{sha256}',
      summary: 'Download a blob you uploaded or can read through a share',
      rawResponse: 'application/octet-stream',
    },
    async (c) => {
      const sha = param(c, 'sha256', Sha256);
      const size = await store.blobSize(me(c).id, sha);
      const stream = size === undefined ? undefined : await blobs.get(sha);
      if (size === undefined || !stream)
        throw new ApiError(404, 'E_NOT_FOUND', `No blob ${sha}`, { hint: 'Upload it with PUT /v1/blobs/<sha256>.' });
      return c.body(stream, 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        etag: `"${sha}"`,
        'cache-control': 'private, max-age=31536000, immutable',
      });
    },
  );

  route(
    {
      method: 'get',
      path: '/v1/blobs',
      summary: 'Your blobs in hash order, a page at a time (?prefix=&cursor=&limit=, default 100, at most 1000)',
      query: BlobListQuery,
      response: BlobList,
    },
    async (c) => {
      const parsed = BlobListQuery.safeParse(c.req.query());
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw badInput(`${first?.path.join('.') || 'query'}: ${first?.message ?? 'invalid'}`);
      }
      const { prefix, cursor, limit } = parsed.data;
      return c.json(await store.listBlobs(me(c).id, prefix, cursor, limit));
    },
  );

  // Buckets

  route(
    {
      method: 'post',
      path: '/v1/buckets',
      summary: 'Create a bucket',
      body: CreateBucketRequest,
      response: Bucket,
      status: 201,
    },
    async (c) => {
      const body = await json(c, CreateBucketRequest);
      return c.json(await store.createBucket(me(c).id, body.name, limits.quotas), 201);
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/buckets',
      summary: 'Buckets you own or that are shared with you',
      response: BucketList,
    },
    async (c) => c.json({ buckets: await store.listBuckets(me(c).id) }),
  );
  route({ method: 'get', path: '/v1/buckets/{bucketId}', summary: 'One bucket', response: Bucket }, async (c) =>
    c.json(await store.getBucket(me(c).id, c.req.param('bucketId') ?? '', 'read')),
  );
  route({ method: 'delete', path: '/v1/buckets/{bucketId}', summary: 'Delete a bucket (owner only)' }, async (c) => {
    const bucketId = c.req.param('bucketId') ?? '';
    // Read before the delete takes the shares with it.
    const watchers = await store.bucketWatchers(bucketId).catch(() => undefined);
    await dropOrphans(await store.deleteBucket(me(c).id, bucketId), c.get('log'));
    await bucketChanged(c, bucketId, { deleted: true }, watchers);
    return c.body(null, 204);
  });
  route(
    {
      method: 'get',
      path: '/v1/buckets/{bucketId}/objects',
      summary: 'List objects (?prefix=&cursor=&limit=, default 100, at most 1000)',
      response: ObjectList,
    },
    async (c) => {
      const { prefix, cursor, limit } = listQuery(c);
      return c.json(await store.listObjects(me(c).id, c.req.param('bucketId') ?? '', prefix, cursor, limit));
    },
  );
  route(
    {
      method: 'put',
      path: '/v1/buckets/{bucketId}/objects/{key}',
      summary: 'Point a key at an uploaded blob',
      body: PutObjectRequest,
      response: BucketObject,
    },
    async (c) => {
      const bucketId = c.req.param('bucketId') ?? '';
      const key = param(c, 'key');
      const body = await json(c, PutObjectRequest);
      const object = await store.putObject(me(c).id, bucketId, key, body);
      await bucketChanged(c, bucketId, { key, sha256: object.sha256 });
      return c.json(object);
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/buckets/{bucketId}/objects/{key}',
      summary: "An object's bytes, with its content type (metadata in x-reyna-metadata)",
      rawResponse: '*/*',
    },
    async (c) => {
      const object = await store.getObject(me(c).id, c.req.param('bucketId') ?? '', param(c, 'key'));
      return serveObject(c, object);
    },
  );
  route({ method: 'delete', path: '/v1/buckets/{bucketId}/objects/{key}', summary: 'Delete an object' }, async (c) => {
    const bucketId = c.req.param('bucketId') ?? '';
    const key = param(c, 'key');
    await dropOrphans(await store.deleteObject(me(c).id, bucketId, key), c.get('log'));
    await bucketChanged(c, bucketId, { key, deleted: true });
    return c.body(null, 204);
  });
  route(
    {
      method: 'post',
      path: '/v1/buckets/{bucketId}/batch',
      summary: 'Put, delete and move up to 100 objects in one transaction',
      body: BatchRequest,
      response: BatchResponse,
    },
    async (c) => {
      const bucketId = c.req.param('bucketId') ?? '';
      const body = await json(c, BatchRequest);
      const result = await store.batch(me(c).id, bucketId, body.ops);
      await dropOrphans(result, c.get('log'));
      await bucketChanged(c, bucketId, { batch: result.applied });
      return c.json({ applied: result.applied });
    },
  );
  route(
    {
      method: 'put',
      path: '/v1/buckets/{bucketId}/shares/{user}',
      summary: 'Share with a named user, read or write (owner only)',
      body: ShareRequest,
      response: ShareList,
    },
    async (c) => {
      const body = await json(c, ShareRequest);
      return c.json({
        shares: await store.share(me(c).id, c.req.param('bucketId') ?? '', c.req.param('user') ?? '', body.access),
      });
    },
  );
  route(
    {
      method: 'delete',
      path: '/v1/buckets/{bucketId}/shares/{user}',
      summary: 'Stop sharing with a user',
      response: ShareList,
    },
    async (c) =>
      c.json({ shares: await store.share(me(c).id, c.req.param('bucketId') ?? '', c.req.param('user') ?? '', null) }),
  );
  route(
    {
      method: 'post',
      path: '/v1/buckets/{bucketId}/links',
      summary: 'Create a read-only public link',
      response: PublicLink,
      status: 201,
    },
    async (c) => c.json(await store.createLink(me(c).id, c.req.param('bucketId') ?? ''), 201),
  );
  route(
    { method: 'get', path: '/v1/buckets/{bucketId}/links', summary: "A bucket's public links", response: LinkList },
    async (c) => c.json({ links: await store.listLinks(me(c).id, c.req.param('bucketId') ?? '') }),
  );
  route(
    {
      method: 'delete',
      path: '/v1/buckets/{bucketId}/links/{linkId}',
      summary: 'Revoke a public link',
      response: PublicLink,
    },
    async (c) => c.json(await store.revokeLink(me(c).id, c.req.param('bucketId') ?? '', c.req.param('linkId') ?? '')),
  );
  route(
    {
      method: 'get',
      path: '/v1/buckets/{bucketId}/export',
      summary: 'Everything in a bucket as JSON (?include=data adds base64 bytes)',
      response: BucketExport,
    },
    async (c) => {
      const bucketId = c.req.param('bucketId') ?? '';
      const bucket = await store.getBucket(me(c).id, bucketId, 'read');
      const withData = c.req.query('include') === 'data';
      const objects: z.infer<typeof BucketExport>['objects'] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listObjects(me(c).id, bucketId, '', cursor, 1000);
        for (const o of page.objects) objects.push(withData ? { ...o, data: await readAll(o.sha256) } : o);
        cursor = page.cursor ?? undefined;
      } while (cursor);
      return c.json({ bucket, objects });
    },
  );

  route(
    {
      method: 'get',
      path: '/v1/public/{linkId}/objects',
      summary: 'List through a public link (no token)',
      auth: false,
      response: ObjectList,
    },
    async (c) => {
      const { bucketId } = await store.linkBucket(c.req.param('linkId') ?? '');
      const { prefix, cursor, limit } = listQuery(c);
      return c.json(await store.publicList(bucketId, prefix, cursor, limit));
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/public/{linkId}/objects/{key}',
      summary: 'Read through a public link (no token)',
      auth: false,
      rawResponse: '*/*',
    },
    async (c) => {
      const { bucketId } = await store.linkBucket(c.req.param('linkId') ?? '');
      return serveObject(c, await store.publicObject(bucketId, param(c, 'key')));
    },
  );

  function listQuery(c: C) {
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 1000);
    return { prefix: c.req.query('prefix') ?? '', cursor: c.req.query('cursor') || undefined, limit };
  }

  async function serveObject(c: C, object: z.infer<typeof BucketObject>) {
    const stream = await blobs.get(object.sha256);
    if (!stream)
      throw new ApiError(404, 'E_NOT_FOUND', `The bytes of "${object.key}" are missing`, {
        hint: 'Put the object again.',
      });
    return c.body(stream, 200, {
      'content-type': object.contentType,
      'content-length': String(object.size),
      etag: `"${object.sha256}"`,
      'x-reyna-sha256': object.sha256,
      'x-reyna-metadata': JSON.stringify(object.metadata),
    });
  }

  async function readAll(sha: string): Promise<string> {
    const stream = await blobs.get(sha);
    if (!stream) return '';
    return Buffer.from(await new Response(stream).arrayBuffer()).toString('base64');
  }

  // Deployments, builds, usage, events

  route(
    {
      method: 'post',
      path: '/v1/apps/{appId}/deployments',
      summary: 'Record a deployment',
      body: CreateDeploymentRequest,
      response: Deployment,
      status: 201,
    },
    async (c) => {
      const appId = c.req.param('appId') ?? '';
      const body = await json(c, CreateDeploymentRequest);
      const deployment = await store.createDeployment(me(c).id, appId, body);
      publish(
        `deployment.created.${appId}`,
        { ownerId: me(c).id, appId, deployment: deployment.id, status: deployment.status, url: deployment.url },
        c.get('log'),
      );
      return c.json(deployment, 201);
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/apps/{appId}/deployments',
      summary: 'Deployments, newest first',
      response: DeploymentList,
    },
    async (c) => c.json({ deployments: await store.listDeployments(me(c).id, c.req.param('appId') ?? '') }),
  );
  route(
    {
      method: 'post',
      path: '/v1/apps/{appId}/builds',
      summary: 'Record a build',
      body: CreateBuildRequest,
      response: Build,
      status: 201,
    },
    async (c) => {
      const body = await json(c, CreateBuildRequest);
      return c.json(await store.createBuild(me(c).id, c.req.param('appId') ?? '', body), 201);
    },
  );
  route(
    { method: 'get', path: '/v1/apps/{appId}/builds', summary: 'Builds, newest first', response: BuildList },
    async (c) => c.json({ builds: await store.listBuilds(me(c).id, c.req.param('appId') ?? '') }),
  );
  route(
    { method: 'get', path: '/v1/usage', summary: 'Your usage per app and in total, with your quotas', response: Usage },
    async (c) => {
      await flush();
      return c.json(await store.usage(me(c).id, limits.quotas));
    },
  );
  route(
    {
      method: 'get',
      path: '/v1/events',
      summary:
        'Server-Sent Events for changes to your apps, and to buckets you own or that are shared with you (?subject= pattern, default ">")',
      rawResponse: 'text/event-stream',
    },
    (c) => {
      const userId = me(c).id;
      const pattern = c.req.query('subject') || '>';
      return streamSSE(c, async (stream) => {
        let id = 0;
        const unsubscribe = await events.subscribe(pattern, (event) => {
          const { audience, ...data } = event.data;
          if (!Array.isArray(audience) || !audience.includes(userId)) return;
          // Who else may watch is not the reader's business.
          const shown = { ...event, data };
          void stream.writeSSE({ event: event.subject, data: JSON.stringify(shown), id: String(++id) });
        });
        await stream.writeSSE({ event: 'ready', data: '{}' });
        // A comment every 15 s keeps proxies from closing an idle stream.
        const ping = setInterval(() => void stream.write(': ping\n\n').catch(() => {}), 15_000);
        await new Promise<void>((done) => stream.onAbort(done));
        clearInterval(ping);
        unsubscribe();
      });
    },
  );

  registerEdgeRoutes({
    route,
    json,
    userId: (c) => me(c).id,
    publish: (c, subject, data) => publish(subject, data, c.get('log')),
    store,
    edge: options.edge,
  });

  return Object.assign(app, {
    /** Saves pending request counts and stops the timer; closes nothing it was given. */
    async shutdown() {
      clearInterval(flushTimer);
      await flush();
    },
    metrics,
  });
}

export type ReynaServer = ReturnType<typeof createServer>;

function bump(counts: Map<string, number>, id: string) {
  counts.set(id, (counts.get(id) ?? 0) + 1);
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function emptyBody(): AsyncIterable<Uint8Array> {
  return (async function* () {})();
}

function hashMismatch(claimed: string, actual: string, index?: number): ApiError {
  const which = index === undefined ? 'The upload' : `Blob ${index} of the batch`;
  return new ApiError(422, 'E_HASH_MISMATCH', `${which} hashes to ${actual}, not ${claimed}`, {
    hint: 'The bytes changed on the way or the client hashed other bytes; hash the file again and retry. Nothing was stored.',
    details: { claimed, actual },
  });
}

function badBatch(message: string): ApiError {
  return new ApiError(400, 'E_BAD_BATCH', `Malformed blob batch: ${message}`, {
    hint: `Send ${BLOB_BATCH_TYPE}: for each blob a line "<sha256> <size>" then exactly <size> bytes. Nothing was stored.`,
  });
}
