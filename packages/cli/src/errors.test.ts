import { Errors } from '@oclif/core';
import { ReynaError } from '@reyna/core';
import { describe, expect, it } from 'vitest';
import { createColors } from './colors.js';
import { describeError, formatError } from './errors.js';
import { suggest } from './hooks/command-not-found.js';

const plain = createColors(false);

describe('describeError', () => {
  it('keeps a ReynaError as it is, with its exit code', () => {
    const e = new ReynaError('E_MISSING_INPUT', '--name is required', { hint: 'Pass --name <value>', exitCode: 2 });
    expect(describeError(e)).toEqual({
      exitCode: 2,
      error: { code: 'E_MISSING_INPUT', message: '--name is required', hint: 'Pass --name <value>' },
    });
  });

  it('makes an interruption exit 130 (143 for SIGTERM), whatever was thrown', () => {
    expect(describeError(new Error('aborted'), { signal: 'SIGINT' })).toMatchObject({
      exitCode: 130,
      error: { code: 'E_INTERRUPTED' },
    });
    expect(describeError(new Error('aborted'), { signal: 'SIGTERM' }).exitCode).toBe(143);
    const ctrlC = Object.assign(new Error('User force closed the prompt'), { name: 'ExitPromptError' });
    expect(describeError(ctrlC).exitCode).toBe(130);
    expect(formatError(describeError(ctrlC), plain)).toBe('Interrupted\n');
  });

  it('makes oclif errors usage errors and respects oclif exits', () => {
    const usage = describeError(new Errors.CLIError('Missing 1 required arg:\nname\nSee more help with --help'), {
      command: 'templates:list',
    });
    expect(usage).toEqual({
      exitCode: 2,
      error: { code: 'E_USAGE', message: 'Missing 1 required arg:\nname', hint: 'Run `reyna templates list --help`.' },
    });
    expect(describeError(new Errors.ExitError(3))).toMatchObject({ exitCode: 3, quiet: true });
  });

  it('calls anything else a bug', () => {
    const bug = describeError(new RangeError('boom'));
    expect(bug.exitCode).toBe(70);
    expect(formatError(bug, plain)).toMatch(
      /^RangeError: boom\n\s+at .*\n[\s\S]*This is a bug in reyna; please report it at https:\/\/github.com\/reyna-dev\/reyna\/issues\n$/,
    );
  });
});

describe('suggest', () => {
  it('names the closest command to a typo, and nothing for a word far from all', () => {
    const ids = ['doctor', 'init', 'upgrade', 'version', 'autocomplete'];
    expect(suggest('doctr', ids)).toBe('doctor');
    expect(suggest('upgarde', ids)).toBe('upgrade');
    expect(suggest('deploy', ids)).toBeUndefined();
  });
});
