import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `app-4k1z…`: lowercase and dash only, so an id can stand in a hostname or a path. 16 chars ≈ 82 bits. */
export function newId(prefix: string, length = 16): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 36];
  return `${prefix}-${out}`;
}

/** An API token: 32 random bytes. Only its SHA-256 is stored (a random token needs no slow hash). */
export function newToken(): string {
  return `reyna_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
