import { describe, expect, it } from 'vitest';
import { parseBuildArgs } from './fast-build.js';

describe('parseBuildArgs', () => {
  it('takes the plain forms of a local build, flags over their env twins', () => {
    expect(parseBuildArgs([], {})).toEqual({ json: false, typecheck: true, install: true });
    expect(parseBuildArgs(['--json', '-y', '--no-typecheck', '--plan', 'paid', '--no-install'], {})).toEqual({
      json: true,
      typecheck: false,
      install: false,
      plan: 'paid',
    });
    expect(parseBuildArgs(['--plan=free', '--typecheck'], { REYNA_TYPECHECK: 'false' })).toEqual({
      json: false,
      typecheck: true,
      install: true,
      plan: 'free',
    });
  });

  it('reads env twins as oclif does: set and not empty, true only for 1/true/y/yes', () => {
    expect(
      parseBuildArgs([], { REYNA_JSON: 'YES', REYNA_TYPECHECK: 'maybe', REYNA_INSTALL: '', REYNA_PLAN: 'paid' }),
    ).toEqual({ json: true, typecheck: false, install: true, plan: 'paid' });
  });

  it('leaves everything else to oclif', () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['--docker'],
      ['--all'],
      ['--plan'],
      ['--plan', 'huge'],
      ['--plan='],
      ['--json', '--json'],
      ['--typecheck', '--no-typecheck'],
      ['--json=true'],
      ['-yj'],
      ['app'],
      ['--', '--json'],
    ]) {
      expect(parseBuildArgs(argv, {}), argv.join(' ')).toBeUndefined();
    }
    for (const env of [
      { REYNA_DOCKER: '1' },
      { REYNA_ALL: 'true' },
      { REYNA_CONCURRENCY: '2' },
      { REYNA_PLAN: 'huge' },
      { DEBUG: '*' },
    ]) {
      expect(parseBuildArgs([], env), JSON.stringify(env)).toBeUndefined();
    }
    // An empty twin is not set.
    expect(parseBuildArgs([], { REYNA_DOCKER: '' })).toBeDefined();
  });
});
