// Wire types of the studio server's HTTP API. The server validates with these and builds its OpenAPI document
// from them; the CLI's client parses answers with them, so the two cannot drift apart.
import { z } from 'zod';
import { MAX_BATCH_ITEMS, MAX_MISSING_QUERY } from './constants.js';
import { manifestProblems } from './paths.js';

export { API_PREFIX, BLOB_BATCH_TYPE, MAX_BATCH_ITEMS, MAX_MISSING_QUERY } from './constants.js';

export const Sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits (SHA-256)')
  .describe('SHA-256 of the raw bytes, lowercase hex');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('Stable code, E_SNAKE_CASE'),
      message: z.string(),
      hint: z.string().optional().describe('What to do about it'),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const User = z
  .object({ id: z.string(), name: z.string(), admin: z.boolean(), createdAt: z.string() })
  .meta({ id: 'User' });
export type User = z.infer<typeof User>;

export const UserName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"');

export const TokenInfo = z
  .object({
    id: z.string(),
    name: z.string(),
    userId: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'TokenInfo' });
export type TokenInfo = z.infer<typeof TokenInfo>;

export const WhoAmI = z.object({ user: User, token: TokenInfo }).meta({ id: 'WhoAmI' });
export type WhoAmI = z.infer<typeof WhoAmI>;

export const CreateTokenRequest = z
  .object({
    user: UserName.describe('Whose token: the user is created when new'),
    name: z.string().max(100).optional().describe('A label, e.g. "ci"'),
    admin: z.boolean().optional().describe('Make a newly created user an admin'),
  })
  .strict();
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const CreatedToken = z
  .object({ token: z.string().describe('Shown once; only its hash is stored'), info: TokenInfo, user: User })
  .meta({ id: 'CreatedToken' });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const ListedToken = TokenInfo.extend({ user: z.string().describe('Name of the user the token is for') }).meta({
  id: 'ListedToken',
});
export type ListedToken = z.infer<typeof ListedToken>;
export const TokenList = z.object({ tokens: z.array(ListedToken) });

export const AppNameField = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes, starting with a letter or digit');

export const App = z
  .object({
    id: z.string().describe('Public APP_ID, stable for the life of the app'),
    name: z.string(),
    ownerId: z.string(),
    head: z.string().nullable().describe('Id of the newest revision, null before the first commit'),
    createdAt: z.string(),
  })
  .meta({ id: 'App' });
export type App = z.infer<typeof App>;

export const CreateAppRequest = z.object({ name: AppNameField }).strict();
export type CreateAppRequest = z.infer<typeof CreateAppRequest>;
export const AppList = z.object({ apps: z.array(App) });

export const FileEntry = z
  .object({
    sha256: Sha256,
    size: z.number().int().min(0),
    mode: z.union([z.literal(0o644), z.literal(0o755)]).describe('420 (0644) or 493 (0755)'),
  })
  .strict()
  .meta({ id: 'FileEntry' });
export type FileEntry = z.infer<typeof FileEntry>;

export const ManifestSchema = z.record(z.string(), FileEntry).describe('path → file');

export const ManifestChanges = z
  .record(z.string(), FileEntry.nullable())
  .describe('path → its new entry, or null for a file removed');

export const CommitRequest = z
  .object({
    parent: z.string().nullable().describe('The head this commit was made on; null for the first commit'),
    files: ManifestSchema.optional().describe('The whole manifest of the new revision (or send `changes`)'),
    changes: ManifestChanges.optional().describe(
      "The new revision as changes to the parent's manifest, with `digest`: a one-file change sends one entry",
    ),
    digest: Sha256.optional().describe(
      'With `changes`: manifestDigest of the manifest they give; a mismatch answers 409 E_BASE_MISMATCH and stores nothing',
    ),
    message: z.string().max(1000).optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    if ((request.files === undefined) === (request.changes === undefined))
      ctx.addIssue({ code: 'custom', message: 'send either `files` or `changes`', path: ['files'] });
    else if (request.changes !== undefined && request.digest === undefined)
      ctx.addIssue({
        code: 'custom',
        message: '`changes` need the `digest` of the manifest they give',
        path: ['digest'],
      });
  });
export type CommitRequest = z.infer<typeof CommitRequest>;

/** Checks a commit's paths with the rules of protocol/paths (for clients that want to fail before uploading). */
export function commitPathProblems(request: { files: Record<string, unknown> }) {
  return manifestProblems(Object.keys(request.files));
}

export const Revision = z
  .object({
    id: z.string(),
    appId: z.string(),
    parent: z.string().nullable(),
    seq: z.number().int().describe('1 for the first revision of an app, then +1'),
    message: z.string().nullable(),
    fileCount: z.number().int(),
    totalSize: z.number().int(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Revision' });
export type Revision = z.infer<typeof Revision>;

export const RevisionWithFiles = Revision.extend({ files: ManifestSchema }).meta({ id: 'RevisionWithFiles' });
export type RevisionWithFiles = z.infer<typeof RevisionWithFiles>;
export const RevisionList = z.object({ revisions: z.array(Revision) });

export const MissingRequest = z.object({ hashes: z.array(Sha256).max(MAX_MISSING_QUERY) }).strict();
export type MissingRequest = z.infer<typeof MissingRequest>;
export const MissingResponse = z.object({
  missing: z.array(Sha256).describe('The hashes asked about that you have not uploaded'),
});
export type MissingResponse = z.infer<typeof MissingResponse>;

export const BlobInfo = z
  .object({ sha256: Sha256, size: z.number().int(), created: z.boolean().describe('False when you had it already') })
  .meta({ id: 'BlobInfo' });
export type BlobInfo = z.infer<typeof BlobInfo>;
export const BlobBatchResponse = z.object({ blobs: z.array(BlobInfo) });
export type BlobBatchResponse = z.infer<typeof BlobBatchResponse>;

/** Page sizes of `GET /v1/blobs`: the default and the most one page holds. */
export const BLOB_LIST_LIMIT = { default: 100, max: 1000 } as const;

export const BlobEntry = z
  .object({
    sha256: Sha256,
    size: z.number().int(),
    createdAt: z.string().describe('When you first uploaded it'),
  })
  .meta({ id: 'BlobEntry' });
export type BlobEntry = z.infer<typeof BlobEntry>;

export const BlobListQuery = z
  .object({
    prefix: z
      .string()
      .regex(/^[0-9a-f]{0,64}$/, 'up to 64 lowercase hex digits')
      .default('')
      .describe('Only hashes that start with this'),
    cursor: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'the cursor of the previous page')
      .optional(),
    limit: z.coerce.number().int().min(1).max(BLOB_LIST_LIMIT.max).default(BLOB_LIST_LIMIT.default),
  })
  .strict();
export type BlobListQuery = z.input<typeof BlobListQuery>;

export const BlobList = z.object({
  blobs: z.array(BlobEntry).describe('In hash order'),
  cursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
});
export type BlobList = z.infer<typeof BlobList>;

export const Access = z.enum(['read', 'write']);
export type Access = z.infer<typeof Access>;

export const BucketName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"');

export const Bucket = z
  .object({
    id: z.string(),
    name: z.string(),
    ownerId: z.string(),
    access: z.enum(['owner', 'read', 'write']).describe('What the caller may do'),
    createdAt: z.string(),
  })
  .meta({ id: 'Bucket' });
export type Bucket = z.infer<typeof Bucket>;
export const CreateBucketRequest = z.object({ name: BucketName }).strict();
export const BucketList = z.object({ buckets: z.array(Bucket) });

export const ObjectKey = z
  .string()
  .min(1)
  .max(1024)
  .refine((k) => !k.includes('\0'), 'no NUL bytes');

export const Metadata = z.record(z.string(), z.string()).describe('Small string map kept with the object');

export const PutObjectRequest = z
  .object({
    sha256: Sha256.describe('An uploaded blob'),
    contentType: z.string().max(255).optional(),
    metadata: Metadata.optional(),
  })
  .strict();
export type PutObjectRequest = z.infer<typeof PutObjectRequest>;

export const BucketObject = z
  .object({
    key: z.string(),
    sha256: Sha256,
    size: z.number().int(),
    contentType: z.string(),
    metadata: Metadata,
    updatedAt: z.string(),
  })
  .meta({ id: 'BucketObject' });
export type BucketObject = z.infer<typeof BucketObject>;

export const ObjectList = z.object({
  objects: z.array(BucketObject),
  cursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
});
export type ObjectList = z.infer<typeof ObjectList>;

export const BatchOp = z.discriminatedUnion('op', [
  z
    .object({ op: z.literal('put'), key: ObjectKey })
    .extend(PutObjectRequest.shape)
    .strict(),
  z.object({ op: z.literal('delete'), key: ObjectKey }).strict(),
  z.object({ op: z.literal('move'), from: ObjectKey, to: ObjectKey }).strict(),
]);
export type BatchOp = z.infer<typeof BatchOp>;
export const BatchRequest = z.object({ ops: z.array(BatchOp).min(1).max(MAX_BATCH_ITEMS) }).strict();
export type BatchRequest = z.infer<typeof BatchRequest>;
export const BatchResponse = z.object({ applied: z.number().int() });

export const ShareRequest = z.object({ access: Access }).strict();
export const Share = z.object({ user: z.string(), access: Access });
export const ShareList = z.object({ shares: z.array(Share) });

export const PublicLink = z
  .object({
    id: z.string(),
    bucketId: z.string(),
    path: z.string().describe('GET this path (no token needed)'),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'PublicLink' });
export type PublicLink = z.infer<typeof PublicLink>;
export const LinkList = z.object({ links: z.array(PublicLink) });

export const BucketExport = z.object({
  bucket: Bucket,
  objects: z.array(BucketObject.extend({ data: z.string().optional().describe('base64, with ?include=data') })),
});
export type BucketExport = z.infer<typeof BucketExport>;

export const DeploymentStatus = z.enum(['pending', 'success', 'failure']);
export const CreateDeploymentRequest = z
  .object({
    revision: z.string().nullable().optional(),
    target: z.enum(['local', 'cloudflare']),
    versionId: z.string().max(200).optional(),
    url: z.string().max(2000).optional(),
    status: DeploymentStatus,
    bytesUploaded: z.number().int().min(0).default(0),
    durationMs: z.number().int().min(0).default(0),
  })
  .strict();
export type CreateDeploymentRequest = z.input<typeof CreateDeploymentRequest>;
export const Deployment = z
  .object({
    id: z.string(),
    appId: z.string(),
    revision: z.string().nullable(),
    target: z.string(),
    versionId: z.string().nullable(),
    url: z.string().nullable(),
    status: DeploymentStatus,
    bytesUploaded: z.number().int(),
    durationMs: z.number().int(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Deployment' });
export type Deployment = z.infer<typeof Deployment>;
export const DeploymentList = z.object({ deployments: z.array(Deployment) });

export const BuildStatus = z.enum(['success', 'failure']);
export const CreateBuildRequest = z
  .object({
    revision: z.string().nullable().optional(),
    status: BuildStatus,
    durationMs: z.number().int().min(0),
    sizes: z.record(z.string(), z.number().int().min(0)).default({}),
    logs: z.string().max(1_000_000).optional(),
  })
  .strict();
export type CreateBuildRequest = z.input<typeof CreateBuildRequest>;
export const Build = z
  .object({
    id: z.string(),
    appId: z.string(),
    revision: z.string().nullable(),
    status: BuildStatus,
    durationMs: z.number().int(),
    sizes: z.record(z.string(), z.number()),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Build' });
export type Build = z.infer<typeof Build>;
export const BuildList = z.object({ builds: z.array(Build) });

export const AppUsage = z.object({
  appId: z.string(),
  name: z.string(),
  revisions: z.number().int(),
  blobs: z.number().int().describe('Distinct blobs its revisions name'),
  bytesReferenced: z.number().int().describe('Bytes of the distinct blobs its revisions name'),
  builds: z.number().int().describe('Build records'),
  buildSeconds: z.number().describe('Sum of the build records’ durations'),
  deployments: z.number().int().describe('Deployment records'),
  bytesDeployed: z.number().int().describe('Sum of the deployments’ bytes uploaded'),
  requests: z.number().int().describe('API requests on its routes (/v1/apps/{appId}/…) that succeeded'),
  edgeRequests: z.number().int().describe('Requests the local edge served to the deployed app'),
});
export const Usage = z
  .object({
    user: z.object({
      id: z.string(),
      name: z.string(),
      blobs: z.number().int().describe('Distinct blobs the user holds (what the blob quota counts)'),
      bytesStored: z.number().int().describe('Bytes of those blobs (what the bytes quota counts)'),
      buckets: z.number().int(),
      apps: z.number().int(),
      builds: z.number().int().describe('Build records of the user’s apps'),
      buildSeconds: z.number().describe('Sum of their durations'),
      deployments: z.number().int().describe('Deployment records of the user’s apps'),
      requests: z.number().int().describe('Authenticated API requests made with the user’s tokens'),
      quota: z.object({ blobs: z.number().int(), buckets: z.number().int(), bytes: z.number().int() }),
    }),
    apps: z.array(AppUsage),
  })
  .meta({ id: 'Usage' });
export type Usage = z.infer<typeof Usage>;

export const Health = z.object({
  ok: z.literal(true),
  version: z.string(),
  store: z.string(),
  uptimeSeconds: z.number(),
});

/**
 * Encodes blobs for `POST /v1/blobs/batch`: for each, a line `<sha256> <size>\n` and then exactly `size` bytes.
 * Streams both ways: neither side needs the whole body in memory to find where a blob starts.
 */
export function encodeBlobBatch(blobs: { sha256: string; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  for (const b of blobs) parts.push(Buffer.from(`${b.sha256} ${b.data.byteLength}\n`, 'latin1'), Buffer.from(b.data));
  return Buffer.concat(parts);
}
