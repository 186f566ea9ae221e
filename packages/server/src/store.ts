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
  Manifest,
  PublicLink,
  PutObjectRequest,
  Revision,
  RevisionWithFiles,
  TokenInfo,
  Usage,
  User,
} from '@reyna/core/protocol';
import type { Quotas } from './limits.js';

export interface Principal {
  user: User;
  token: TokenInfo;
}

/** Hashes whose bytes nobody references any more: the caller deletes them from the BlobStore. */
export interface Orphans {
  orphanedBlobs: string[];
}

/** Requests since the last save, by id. */
export interface RequestCounts {
  /** Authenticated API requests, by user. */
  users: Map<string, number>;
  /** Successful API requests on an app's routes, by app. */
  apps: Map<string, number>;
  /** Requests the local edge served, by app. */
  edge: Map<string, number>;
}

/**
 * Everything the studio server keeps, apart from blob bytes. Each method is one transaction. Methods taking a
 * `userId` answer 404 (ApiError E_NOT_FOUND) for resources that user may not see.
 */
export interface Store {
  readonly kind: string;
  /** Applies missing migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;

  /** On an empty store: creates the admin "owner" and returns its token; otherwise undefined. */
  bootstrap(): Promise<{ user: User; token: string } | undefined>;
  authenticate(tokenHash: string): Promise<Principal | undefined>;
  /** Creates a token for `userName`, creating the user when new. */
  createToken(
    userName: string,
    label: string,
    options: { admin?: boolean },
  ): Promise<{ token: string; info: TokenInfo; user: User }>;
  /** When the token behind this hash was revoked; undefined for a live or unknown one. */
  tokenRevokedAt(tokenHash: string): Promise<string | undefined>;
  /** Tokens of one user (by id or name; 404 for an unknown name), or of everyone; oldest first, revoked ones too. */
  listTokens(scope: { userId: string } | { userName: string } | 'all'): Promise<ListedToken[]>;
  /**
   * Admins may revoke anyone's token, others only their own (404 for the rest). Refuses (409 E_LAST_ADMIN_TOKEN) to
   * revoke the last live token of any admin, which would leave nobody able to make tokens.
   */
  revokeToken(by: User, tokenId: string): Promise<TokenInfo>;

  createApp(userId: string, name: string): Promise<App>;
  listApps(userId: string): Promise<App[]>;
  getApp(userId: string, appId: string): Promise<App>;
  deleteApp(userId: string, appId: string): Promise<Orphans>;

  /**
   * Commits the whole manifest (`files`) or the parent's with `changes`. Fails with 409 E_HEAD_MOVED when `parent`
   * is not the head, 409 E_BASE_MISMATCH when the changes do not give the manifest `digest` names, 422
   * E_INVALID_PATH for a bad path, 422 E_MISSING_BLOBS when a hash was not uploaded, 422 E_SIZE_MISMATCH.
   */
  commit(userId: string, appId: string, request: CommitRequest): Promise<Revision>;
  listRevisions(userId: string, appId: string, limit: number): Promise<Revision[]>;
  getRevision(userId: string, appId: string, revisionId: string): Promise<RevisionWithFiles>;

  /** Of `hashes`, those this user has not uploaded. */
  missingBlobs(userId: string, hashes: string[]): Promise<string[]>;
  /** Whether any user stored these bytes already (the BlobStore may skip writing them). */
  blobExists(sha256: string): Promise<boolean>;
  /** Throws 429 E_QUOTA_EXCEEDED when recording these blobs would take the user past a quota. */
  checkQuota(userId: string, blobs: { sha256: string; size: number }[], quotas: Quotas): Promise<void>;
  /** Records that the user holds these blobs; checks quotas first (429 E_QUOTA_EXCEEDED). Returns which were new to the user. */
  addBlobs(userId: string, blobs: { sha256: string; size: number }[], quotas: Quotas): Promise<boolean[]>;
  /** The blob's size when this user may read it (uploaded it, or it is in a bucket shared with them). */
  blobSize(userId: string, sha256: string): Promise<number | undefined>;
  /** The blobs this user holds, in hash order, `limit` a page after `cursor` (the last hash of the page before). */
  listBlobs(
    userId: string,
    prefix: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ blobs: BlobEntry[]; cursor: string | null }>;

  createBucket(userId: string, name: string, quotas: Quotas): Promise<Bucket>;
  listBuckets(userId: string): Promise<Bucket[]>;
  getBucket(userId: string, bucketId: string, need: Access | 'owner'): Promise<Bucket>;
  deleteBucket(userId: string, bucketId: string): Promise<Orphans>;
  putObject(userId: string, bucketId: string, key: string, request: PutObjectRequest): Promise<BucketObject>;
  getObject(userId: string, bucketId: string, key: string): Promise<BucketObject>;
  listObjects(
    userId: string,
    bucketId: string,
    prefix: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ objects: BucketObject[]; cursor: string | null }>;
  deleteObject(userId: string, bucketId: string, key: string): Promise<Orphans>;
  batch(userId: string, bucketId: string, ops: BatchOp[]): Promise<Orphans & { applied: number }>;
  share(
    userId: string,
    bucketId: string,
    userName: string,
    access: Access | null,
  ): Promise<{ user: string; access: Access }[]>;
  createLink(userId: string, bucketId: string): Promise<PublicLink>;
  listLinks(userId: string, bucketId: string): Promise<PublicLink[]>;
  revokeLink(userId: string, bucketId: string, linkId: string): Promise<PublicLink>;
  /** Who may see a bucket's changes: its owner and every user it is shared with (read or write). */
  bucketWatchers(bucketId: string): Promise<{ ownerId: string; sharedWith: string[] }>;
  /** The bucket behind a live public link. */
  linkBucket(linkId: string): Promise<{ bucketId: string; ownerId: string }>;
  /** Reads for a public link, after linkBucket checked it. */
  publicObject(bucketId: string, key: string): Promise<BucketObject>;
  publicList(
    bucketId: string,
    prefix: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ objects: BucketObject[]; cursor: string | null }>;

  createDeployment(userId: string, appId: string, request: CreateDeploymentRequest): Promise<Deployment>;
  listDeployments(userId: string, appId: string): Promise<Deployment[]>;
  createBuild(userId: string, appId: string, request: CreateBuildRequest): Promise<Build>;
  listBuilds(userId: string, appId: string): Promise<Build[]>;
  /** Adds to the request counters (the server batches them); counts for apps deleted meanwhile are dropped. */
  countRequests(counts: RequestCounts): Promise<void>;
  usage(userId: string, quotas: Quotas): Promise<Usage>;
  /** Bytes and count of all distinct blobs, for /metrics. */
  blobTotals(): Promise<{ blobs: number; bytes: number }>;
}

export type { Manifest };
