import { basename } from 'node:path';
import { checkAppName, type InitResult, type InitStep, initApp, listBuiltinTemplates, ReynaError } from '@reyna/core';
import { Args, Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { builtinTemplatesDir } from '../paths.js';
import { stepTasks } from '../progress.js';

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Create an app from a template.';
  static override description = `The template is a built-in name, a local directory, or a git repository with an \
optional subdirectory and ref: git+file:///tmp/tpl.git#v1.2.0, https://host/org/repo.git/templates/react#main, \
github:org/repo/sub#tag. Git templates are cached and work offline once fetched. The app is assembled aside and \
moved into place at the end: an interrupted init leaves nothing behind.`;

  static override examples = [
    '<%= config.bin %> init my-app --template react',
    '<%= config.bin %> init site --template github:org/templates/web#v2.1.0 --no-install',
    '<%= config.bin %> init api --template ./my-template --var title="My API" --yes',
  ];

  static override args = {
    dir: Args.string({ description: 'Directory to create (default: the app name).' }),
  };

  static override flags = {
    template: flag('template', Flags.string({ char: 't', description: 'Template spec.', helpValue: '<spec>' })),
    name: flag('name', Flags.string({ char: 'n', description: 'App name (default: the directory name).' })),
    var: flag(
      'var',
      Flags.string({ multiple: true, description: 'Value of a template placeholder.', helpValue: '<key=value>' }),
    ),
    install: flag('install', Flags.boolean({ allowNo: true, default: true, description: 'Run npm install.' })),
    git: flag('git', Flags.boolean({ allowNo: true, default: true, description: 'git init and a first commit.' })),
    force: flag('force', Flags.boolean({ description: 'Write into a non-empty directory (other files are kept).' })),
    offline: flag('offline', Flags.boolean({ description: 'Use only cached git templates.' })),
    'prefer-offline': flag('prefer-offline', Flags.boolean({ description: 'Use the cache when it has the ref.' })),
  };

  async run(): Promise<InitResult> {
    const { flags, args } = this;
    const ctx = this.context();
    const yes = flags.yes === true;
    const builtins = await listBuiltinTemplates(builtinTemplatesDir);
    const template =
      flags.template ??
      (await this.choose({
        flag: '--template',
        message: 'Template',
        choices: builtins.map((t) => ({ value: t.name, description: t.description })),
        default: yes ? 'react' : undefined,
      }));
    const name =
      flags.name ??
      (args.dir
        ? basename(args.dir)
        : await this.ask({
            flag: '--name',
            message: 'App name',
            default: yes ? 'my-app' : undefined,
            validate: valid,
          }));
    const values = Object.fromEntries((flags.var ?? []).map(parseVar));
    const steps = stepTasks<InitStep>([
      { id: 'template', title: 'Fetch template' },
      { id: 'files', title: 'Write files' },
      { id: 'git', title: 'git init' },
      { id: 'install', title: 'npm install' },
      { id: 'finish', title: 'Move into place' },
    ]);
    // A prompt for a placeholder can only come once the template is fetched, and the live progress display
    // would swallow it: on a terminal the display starts once the template step (and its prompts) are done.
    let shown: Promise<unknown> | undefined;
    const show = () => {
      shown ??= this.tasks(steps.tasks);
    };
    if (this.interactive) this.logger.info(`Fetching template ${template}…`);
    else show();
    const running = initApp(ctx, {
      dir: args.dir ?? name,
      template,
      name,
      values,
      ask: (placeholder) =>
        this.ask({
          flag: `--var ${placeholder.name}`,
          usage: `--var ${placeholder.name}=<value>`,
          message: placeholder.description ?? placeholder.name,
          default: placeholder.default,
        }),
      force: flags.force,
      install: flags.install,
      git: flags.git,
      offline: flags.offline,
      preferOffline: flags['prefer-offline'],
      builtinRoot: builtinTemplatesDir,
      // npm's own output streams through, except under the live progress display, which it would garble.
      output: this.json || process.stdout.isTTY ? undefined : process.stderr,
      onStep: (step, state, detail) => {
        steps.onStep(step, state, detail);
        if (step === 'template' && state === 'done') show();
      },
    });
    running.then(steps.finish, steps.fail);
    // Progress and the work run side by side; the work's own error is the one reported.
    await running.catch(() => {});
    await Promise.allSettled([shown]);
    const result = await running;
    return this.render(result, () => {
      const from = `${result.template.source}${result.template.version ? `@${result.template.version}` : ''}`;
      this.log(`${this.colors.green('✔')} Created ${this.colors.bold(result.name)} in ${result.dir} from ${from}`);
      this.log('\nNext:');
      this.log(`  cd ${args.dir ?? name}`);
      if (!result.installed) this.log('  npm install');
      this.log('  npm run dev');
    });
  }
}

function valid(value: string): true | string {
  try {
    checkAppName(value);
    return true;
  } catch (error) {
    return (error as Error).message;
  }
}

function parseVar(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new ReynaError('E_INVALID_INPUT', `--var "${text}" is not key=value`, {
      hint: 'Pass --var name=value, once per placeholder.',
      exitCode: 2,
    });
  }
  return [text.slice(0, eq), text.slice(eq + 1)];
}
