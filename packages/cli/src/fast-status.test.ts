import { describe, expect, it } from 'vitest';
import { parseStatusArgs } from './fast-status.js';
import { daemonTip } from './status-view.js';

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

describe('daemonTip', () => {
  it('tells a person at a terminal, after a slow status of a big tree, of the sync daemon', () => {
    expect(daemonTip(10_000, 412.4, {}, true)).toBe(
      'Tip: this status took 412 ms for 10000 files. `reyna daemon start` keeps a process that watches the tree and answers in a few ms.',
    );
  });

  it('says nothing when a daemon answered, of small trees, fast answers, CI, REYNA_NO_DAEMON, or without a terminal', () => {
    expect(daemonTip(10_000, undefined, {}, true)).toBeUndefined();
    expect(daemonTip(4999, 900, {}, true)).toBeUndefined();
    expect(daemonTip(10_000, 199, {}, true)).toBeUndefined();
    expect(daemonTip(10_000, 900, { CI: 'true' }, true)).toBeUndefined();
    expect(daemonTip(10_000, 900, { CI: 'false' }, true)).toBeDefined();
    expect(daemonTip(10_000, 900, { REYNA_NO_DAEMON: '1' }, true)).toBeUndefined();
    expect(daemonTip(10_000, 900, {}, false)).toBeUndefined();
  });
});
