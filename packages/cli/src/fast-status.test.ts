import { describe, expect, it } from 'vitest';
import { parseStatusArgs } from './fast-status.js';

describe('parseStatusArgs', () => {
  it('takes the flags of status, in both spellings, and their env twins', () => {
    expect(parseStatusArgs([], {})).toEqual({ json: false, server: undefined, token: undefined });
    expect(parseStatusArgs(['--json', '--server', 'http://s', '--token=t', '-y'], {})).toEqual({
      json: true,
      server: 'http://s',
      token: 't',
    });
    expect(parseStatusArgs([], { REYNA_JSON: '1', REYNA_SERVER: 'http://e', REYNA_TOKEN: 'e' })).toEqual({
      json: true,
      server: 'http://e',
      token: 'e',
    });
    expect(parseStatusArgs(['--server=http://flag'], { REYNA_SERVER: 'http://env' })?.server).toBe('http://flag');
  });

  it('leaves anything else to oclif', () => {
    for (const argv of [['--help'], ['-h'], ['--bogus'], ['extra'], ['--server'], ['--server', '--json'], ['--jsonx']])
      expect(parseStatusArgs(argv, {}), argv.join(' ')).toBeUndefined();
  });
});
