import { describe, expect, it } from 'vitest';
import { parsePushArgs } from './fast-push.js';

describe('parsePushArgs', () => {
  it('takes push --json with its message, server and token, in both spellings, and their env twins', () => {
    expect(parsePushArgs(['--json'], {})).toEqual({ server: undefined, token: undefined, message: undefined });
    expect(parsePushArgs(['-m', 'hi there', '--json', '--server=http://s', '--token', 't', '-y'], {})).toEqual({
      server: 'http://s',
      token: 't',
      message: 'hi there',
    });
    expect(parsePushArgs(['--message=a=b'], { REYNA_JSON: 'true' })?.message).toBe('a=b');
    expect(
      parsePushArgs([], { REYNA_JSON: '1', REYNA_SERVER: 'http://e', REYNA_TOKEN: 'e', REYNA_MESSAGE: 'env' }),
    ).toEqual({ server: 'http://e', token: 'e', message: 'env' });
    expect(parsePushArgs(['--json', '-m', 'flag'], { REYNA_MESSAGE: 'env' })?.message).toBe('flag');
  });

  it('leaves everything else to oclif: no JSON, other flags or their env twins, odd values', () => {
    for (const argv of [
      [],
      ['-m', 'x'],
      ['--json', '--dry-run'],
      ['--json', '--concurrency', '2'],
      ['--json', '--help'],
      ['--json', 'extra'],
      ['--json', '-m'],
      ['--json', '-m', '--json'],
      ['--json', '-mx'],
      ['--json', '-m=x'],
      ['--jsonx'],
    ])
      expect(parsePushArgs(argv, {}), argv.join(' ')).toBeUndefined();
    for (const name of [
      'REYNA_DRY_RUN',
      'REYNA_CONCURRENCY',
      'REYNA_TIMEOUT',
      'REYNA_BATCH_BYTES',
      'REYNA_BATCH_FILES',
    ])
      expect(parsePushArgs(['--json'], { [name]: '1' }), name).toBeUndefined();
  });
});
