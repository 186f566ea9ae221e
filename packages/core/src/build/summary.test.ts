import { describe, expect, it } from 'vitest';
import { appLabel, type BuildAllEntry, summariseBuildAll } from './index.js';

describe('summariseBuildAll', () => {
  const ok = (dir: string): BuildAllEntry => ({
    dir,
    ok: true,
    durationMs: 1200,
    result: { report: { worker: { gzipBytes: 300 }, files: [{}, {}] } } as unknown as BuildAllEntry['result'],
  });
  const broken: BuildAllEntry = {
    dir: '/w/apps/b',
    ok: false,
    durationMs: 40,
    error: { code: 'E_COMPILE', message: 'src/a.ts:1:1 nope' },
  };

  it('names each app by its path under the workspace, with its size and file count', () => {
    expect(appLabel('/w', '/w')).toBe('.');
    expect(summariseBuildAll('/w', [ok('/w/apps/a')])).toEqual({
      rows: [{ app: 'apps/a', ok: true, durationMs: 1200, workerGzipBytes: 300, files: 2, error: undefined }],
    });
  });

  it('ends in E_BUILD_FAILED naming the first failed app, with every row in the details', () => {
    const { rows, failure } = summariseBuildAll('/w', [ok('/w/apps/a'), broken]);
    expect(failure).toMatchObject({
      code: 'E_BUILD_FAILED',
      message: '1 of 2 apps failed to build',
      hint: 'Fix them one at a time: cd apps/b && reyna build',
      details: { results: rows },
    });
    expect(rows[1]).toMatchObject({ app: 'apps/b', ok: false, error: { code: 'E_COMPILE' } });
  });
});
