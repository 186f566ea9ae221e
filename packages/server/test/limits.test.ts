// Limits and quotas from REYNA_SERVER_* variables: each one reaches its field, a bad value is refused by name, and a
// server built with them enforces them.
import { isReynaError } from '@reyna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitsFromEnv } from '../src/limits.js';
import { client, type Harness, makeHarness, sha256 } from './_harness.js';

const VARIABLES: [string, (l: ReturnType<typeof limitsFromEnv>) => number][] = [
  ['REYNA_SERVER_BLOB_BYTES', (l) => l.blobBytes],
  ['REYNA_SERVER_BATCH_BYTES', (l) => l.batchBytes],
  ['REYNA_SERVER_JSON_BYTES', (l) => l.jsonBytes],
  ['REYNA_SERVER_RATE_LIMIT', (l) => l.rateLimit],
  ['REYNA_SERVER_RATE_WINDOW_MS', (l) => l.rateWindowMs],
  ['REYNA_SERVER_QUOTA_BLOBS', (l) => l.quotas.blobs],
  ['REYNA_SERVER_QUOTA_BUCKETS', (l) => l.quotas.buckets],
  ['REYNA_SERVER_QUOTA_BYTES', (l) => l.quotas.bytes],
];

describe('limitsFromEnv', () => {
  it('keeps the documented defaults when nothing (or an empty string) is set', () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    expect(limitsFromEnv(Object.fromEntries(VARIABLES.map(([name]) => [name, ''])))).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({
      blobBytes: 10 * 1024 * 1024,
      rateLimit: 6000,
      quotas: { blobs: 10_000, buckets: 1_000, bytes: 10_000_000_000 },
    });
  });

  it.each(VARIABLES)('reads %s into its own field only', (name, read) => {
    const limits = limitsFromEnv({ [name]: '4321' });
    expect(read(limits)).toBe(4321);
    for (const [other, readOther] of VARIABLES)
      if (other !== name) expect(readOther(limits), other).toBe(readOther(DEFAULT_LIMITS));
  });

  it('takes 0 (a rate limit of 0 turns it off)', () => {
    expect(limitsFromEnv({ REYNA_SERVER_RATE_LIMIT: '0' }).rateLimit).toBe(0);
  });

  it.each(['abc', '-1', '1.5', 'Infinity', '12 MB'])('refuses %j with E_BAD_LIMIT naming the variable', (raw) => {
    let caught: unknown;
    try {
      limitsFromEnv({ REYNA_SERVER_QUOTA_BYTES: raw });
    } catch (error) {
      caught = error;
    }
    expect(isReynaError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'E_BAD_LIMIT', exitCode: 2 });
    expect((caught as Error).message).toContain(`REYNA_SERVER_QUOTA_BYTES="${raw}"`);
    expect((caught as { hint: string }).hint).toContain('10000000000');
  });
});

describe('a server with limits from the environment', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness('pglite');
  }, 60_000);
  afterAll(async () => h?.close());

  it('enforces them', async () => {
    const app = h.withLimits(
      limitsFromEnv({ REYNA_SERVER_BLOB_BYTES: '8', REYNA_SERVER_QUOTA_BUCKETS: '1', REYNA_SERVER_RATE_LIMIT: '5' }),
    );
    const api = client(() => app, h.ownerToken);
    expect((await api.put(`/v1/blobs/${sha256('12345678')}`, '12345678')).status).toBe(201);
    const big = await api.put(`/v1/blobs/${sha256('123456789')}`, '123456789');
    expect([big.status, big.body.error.code]).toEqual([413, 'E_BLOB_TOO_LARGE']);
    expect((await api.post('/v1/buckets', { name: 'one' })).status).toBe(201);
    const second = await api.post('/v1/buckets', { name: 'two' });
    expect([second.status, second.body.error.code]).toEqual([429, 'E_QUOTA_EXCEEDED']);
    // Four requests so far: the fifth is the last the rate limit lets through.
    expect((await api.get('/v1/whoami')).status).toBe(200);
    const over = await api.get('/v1/whoami');
    expect([over.status, over.body.error.code]).toEqual([429, 'E_RATE_LIMITED']);
  });
});
