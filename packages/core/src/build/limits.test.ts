import { describe, expect, it } from 'vitest';
import type { ReynaError } from '../errors.js';
import { checkLimits, resolveLimits } from './limits.js';

const MiB = 1024 * 1024;
const ok = { workerGzipBytes: 1000, largestModules: [], assets: [{ path: 'index.html', size: 300 }] };

function thrown(fn: () => void): ReynaError {
  try {
    fn();
  } catch (error) {
    return error as ReynaError;
  }
  throw new Error('did not throw');
}

describe('checkLimits', () => {
  it('passes a small build', () => {
    expect(() => checkLimits(ok, resolveLimits('free'))).not.toThrow();
  });

  it('refuses a Worker over the plan, with its size and largest modules', () => {
    const error = thrown(() =>
      checkLimits(
        { ...ok, workerGzipBytes: 4 * MiB, largestModules: [{ path: 'worker/data.ts', size: 9 * MiB }] },
        resolveLimits('free'),
      ),
    );
    expect(error.code).toBe('E_WORKER_TOO_LARGE');
    expect(error.message).toContain('4.00 MiB');
    expect(error.message).toContain('3.00 MiB');
    expect(error.message).toContain('worker/data.ts (9.00 MiB)');
    expect(error.hint).toContain('"plan": "paid"');
    expect(() => checkLimits({ ...ok, workerGzipBytes: 4 * MiB }, resolveLimits('paid'))).not.toThrow();
  });

  it('refuses an asset over 25 MiB and too many files', () => {
    const big = thrown(() =>
      checkLimits({ ...ok, assets: [{ path: 'video.mp4', size: 26 * MiB }] }, resolveLimits('paid')),
    );
    expect(big.code).toBe('E_ASSET_TOO_LARGE');
    expect(big.message).toContain('video.mp4 (26.00 MiB)');
    const many = Array.from({ length: 21 }, (_, i) => ({ path: `${i}.txt`, size: 1 }));
    const error = thrown(() => checkLimits({ ...ok, assets: many }, resolveLimits('free', { files: 20 })));
    expect(error.code).toBe('E_TOO_MANY_FILES');
    expect(error.message).toContain('21 static files');
  });
});
