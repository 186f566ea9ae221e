import { fileURLToPath } from 'node:url';
import { Args, type Command, Config, Flags, settings } from '@oclif/core';
import { ReynaError } from '@reyna/core';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BaseCommand } from './base-command.js';
import { REPORT_URL } from './errors.js';
import { flag } from './flags.js';

// Commands made for these tests, run in-process against the real oclif config of the package.
class Fails extends BaseCommand<typeof Fails> {
  static override id = 'fails';
  static override flags = { kind: flag('kind', Flags.string({ options: ['user', 'bug', 'late'], default: 'user' })) };
  async run() {
    if (this.flags.kind === 'bug') throw new TypeError('undefined is not a function');
    if (this.flags.kind === 'late') {
      this.render({ done: true }, () => this.log('done'));
      throw new ReynaError('E_LATE', 'Failed after printing');
    }
    throw new ReynaError('E_TEMPLATE_NOT_FOUND', 'No template "reakt"', { hint: 'Run `reyna init --help`.' });
  }
}

class Asks extends BaseCommand<typeof Asks> {
  static override args = { dir: Args.string() };
  static override flags = {
    name: flag('name', Flags.string()),
    template: flag('template', Flags.string()),
    default: flag('default', Flags.string()),
  };
  async run() {
    const name =
      this.flags.name ??
      (await this.ask({
        flag: '--name',
        message: 'App name?',
        default: this.flags.default,
        validate: (v) => /^[a-z-]+$/.test(v) || 'use lowercase letters and dashes',
      }));
    const template =
      this.flags.template ??
      (await this.choose({
        flag: '--template',
        message: 'Template?',
        choices: ['react', { value: 'vanilla', name: 'Vanilla' }],
      }));
    return this.render({ name, template, dir: this.args.dir ?? null }, () => this.log(`${name} from ${template}`));
  }
}

class Lists extends BaseCommand<typeof Lists> {
  async run() {
    const ctx = await this.tasks<{ steps: string[] }>(
      [
        { title: 'Copy files', task: (c) => void c.steps.push('copy') },
        { title: 'Write reyna.json', task: (c) => void c.steps.push('write') },
      ],
      { steps: [] },
    );
    this.context().logger.info('a log line');
    return this.render(ctx, () => this.log(`steps: ${ctx.steps.join(',')}`));
  }
}

let config: Config;
let out: string;
let err: string;

beforeAll(async () => {
  settings.enableAutoTranspile = false;
  config = await Config.load(fileURLToPath(new URL('..', import.meta.url)));
});

beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  for (const name of ['CI', 'REYNA_JSON', 'REYNA_YES', 'REYNA_NAME', 'FORCE_COLOR']) vi.stubEnv(name, undefined);
  vi.stubEnv('NO_COLOR', '1');
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  process.exitCode = undefined;
});

async function run(Cmd: new (argv: string[], config: Config) => Command, argv: string[]) {
  const cmd = new Cmd(argv, config) as unknown as { _run(): Promise<unknown> };
  const result = await cmd._run();
  return { result, code: process.exitCode ?? 0, out, err };
}

describe('errors', () => {
  it('prints a ReynaError as Error/Hint on stderr and exits 1', async () => {
    const r = await run(Fails, []);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe('Error: No template "reakt"\nHint: Run `reyna init --help`.\n');
  });

  it('prints it as the one JSON document on stdout with --json, or REYNA_JSON', async () => {
    const expected = {
      error: { code: 'E_TEMPLATE_NOT_FOUND', message: 'No template "reakt"', hint: 'Run `reyna init --help`.' },
    };
    const r = await run(Fails, ['--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual(expected);
    expect(r.err).toBe('');
    vi.stubEnv('REYNA_JSON', '1');
    out = '';
    expect(JSON.parse((await run(Fails, [])).out)).toEqual(expected);
  });

  it('treats anything else as a bug: stack, where to report it, exit 70', async () => {
    const r = await run(Fails, ['--kind', 'bug']);
    expect(r.code).toBe(70);
    expect(r.err).toContain('TypeError: undefined is not a function');
    expect(r.err).toContain('base-command.test.ts');
    expect(r.err).toContain(`This is a bug in reyna; please report it at ${REPORT_URL}`);
    const j = await run(Fails, ['--kind', 'bug', '--json']);
    expect(JSON.parse(j.out)).toMatchObject({ error: { code: 'E_INTERNAL', message: 'undefined is not a function' } });
  });

  it('turns parse errors into E_USAGE with exit 2, as JSON too', async () => {
    const r = await run(Fails, ['--kind', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^Error: Expected --kind=nope to be one of: user, bug, late\nHint: Run `reyna fails --help`\.\n$/,
    );
    out = '';
    const j = await run(Fails, ['--bogus', '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.out)).toEqual({
      error: { code: 'E_USAGE', message: 'Nonexistent flag: --bogus', hint: 'Run `reyna fails --help`.' },
    });
  });

  it('never prints a second JSON document: an error after the result goes to stderr', async () => {
    const r = await run(Fails, ['--kind', 'late', '--json']);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.out)).toEqual({ done: true });
    expect(r.err).toContain('Error: Failed after printing');
  });
});

describe('ask and choose without a terminal', () => {
  it('fails with E_MISSING_INPUT naming the flag, exit 2', async () => {
    const r = await run(Asks, ['--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({
      error: {
        code: 'E_MISSING_INPUT',
        message: '--name is required when not run from a terminal',
        hint: 'Pass --name <value>',
        details: { flag: '--name' },
      },
    });
    out = '';
    vi.stubEnv('CI', 'true');
    expect(JSON.parse((await run(Asks, ['--json', '--name', 'x'])).out).error).toMatchObject({
      message: '--template is required on CI',
      hint: 'Pass --template <value> (one of: react, vanilla)',
    });
  });

  it('takes defaults, and validates them', async () => {
    const r = await run(Asks, ['--yes', '--default', 'my-app', '--template', 'react', 'dir']);
    expect(r).toMatchObject({
      code: 0,
      out: 'my-app from react\n',
      result: { name: 'my-app', template: 'react', dir: 'dir' },
    });
    out = '';
    const bad = await run(Asks, ['-y', '--default', 'My App', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out).error).toMatchObject({
      code: 'E_INVALID_INPUT',
      message: '--name "My App": use lowercase letters and dashes',
    });
  });

  it('reads every flag from its REYNA_* twin', async () => {
    vi.stubEnv('REYNA_YES', '1');
    vi.stubEnv('REYNA_NAME', 'from-env');
    vi.stubEnv('REYNA_TEMPLATE', 'vanilla');
    vi.stubEnv('REYNA_JSON', 'true');
    const r = await run(Asks, []);
    expect(JSON.parse(r.out)).toEqual({ name: 'from-env', template: 'vanilla', dir: null });
  });

  it('says --yes when that is why it could not ask', async () => {
    const r = await run(Asks, ['--yes']);
    expect(r.err).toBe('Error: --name is required with --yes\nHint: Pass --name <value>\n');
  });
});

describe('tasks and logging', () => {
  it('prints plain progress lines when not on a terminal', async () => {
    const r = await run(Lists, []);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Copy files');
    expect(r.out).toContain('Write reyna.json');
    expect(r.out).toMatch(/steps: copy,write\n$/);
    expect(r.err).toBe('a log line\n');
  });

  it('keeps stdout to the one JSON document with --json', async () => {
    const r = await run(Lists, ['--json']);
    expect(JSON.parse(r.out)).toEqual({ steps: ['copy', 'write'] });
    expect(r.err).toBe('a log line\n');
  });
});
