/** A blob written to a temporary place and hashed, not yet visible: commit() or discard() it. */
export interface StagedBlob {
  sha256: string;
  size: number;
  /** Makes the bytes durable and visible under their hash. */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Where blob bytes live, addressed by their SHA-256. Metadata (who holds which blob) is in the Store. */
export interface BlobStore {
  /**
   * Streams bytes to a staging place, hashing as it goes; rejects (413 E_BLOB_TOO_LARGE) past `maxBytes`.
   * The caller compares the hash with what the client claimed before committing.
   */
  stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob>;
  /** The bytes, or undefined when absent. */
  get(sha256: string): Promise<ReadableStream<Uint8Array> | undefined>;
  has(sha256: string): Promise<boolean>;
  delete(sha256: string): Promise<void>;
}
