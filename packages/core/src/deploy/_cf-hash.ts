import { extname } from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';

/**
 * Cloudflare's asset hash, as wrangler computes it: the first 32 hex chars of BLAKE3 over the base64 of the bytes
 * followed by the extension without its dot. The API treats it as opaque but the upload must match it.
 * @example cloudflareAssetHash(new TextEncoder().encode('hi'), '/a.txt')
 */
export function cloudflareAssetHash(bytes: Uint8Array, path: string): string {
  const extension = extname(path).slice(1);
  const input = Buffer.from(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') + extension,
  );
  return Buffer.from(blake3(input)).toString('hex').slice(0, 32);
}
