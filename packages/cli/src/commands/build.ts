// Subpaths, not the package root: this command loads only the build code, and `reyna build` starts sooner.
import { appLabel, type BuildAllRow, buildAll, findApps, formatBytes, summariseBuildAll } from '@reyna/core/build';
import type { DockerStep } from '@reyna/core/build/docker';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { buildLocally, summarise } from '../build-local.js';
import { flag } from '../flags.js';
import { stepTasks } from '../progress.js';

export default class Build extends BaseCommand<typeof Build> {
  static override summary = 'Build the app: the client with Vite, the Worker with esbuild, checked against the limits.';
  static override description = `Writes <outDir>/client, <outDir>/worker and <outDir>/reyna-build.json (every file \
with its SHA-256, size and type; the Worker's raw and gzip size and largest modules). The build holds no APP_ID: \
deploy injects it, so one build deploys to any app. Type checking runs beside the bundling. A build over the \
plan's limits is refused before anything is uploaded. The log is kept in .reyna/builds/<id>.log.

With --docker the same build runs in a container: dependencies installed in their own image layer (reused while \
package.json and the lockfile are unchanged), then the build as user 1000 with no network and with memory, CPU \
and process limits. A Dockerfile.reyna beside reyna.json replaces the generated Dockerfile.`;

  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build --no-typecheck',
    '<%= config.bin %> build --all --concurrency 2',
    '<%= config.bin %> build --docker --memory 2g',
  ];

  static override flags = {
    all: flag('all', Flags.boolean({ description: 'Build every app under the current directory.' })),
    concurrency: flag(
      'concurrency',
      Flags.integer({ description: 'Apps built at once with --all (default: the number of cores).', min: 1 }),
    ),
    typecheck: flag(
      'typecheck',
      Flags.boolean({
        description: "Type-check with the app's tsc beside the bundling.",
        default: true,
        allowNo: true,
      }),
    ),
    install: flag(
      'install',
      Flags.boolean({ description: 'Install missing dependencies first.', default: true, allowNo: true }),
    ),
    docker: flag('docker', Flags.boolean({ description: 'Build inside Docker: no network, non-root, with limits.' })),
    'base-image': flag(
      'base-image',
      Flags.string({ description: 'Base image of the Docker build (default node:20-slim).' }),
    ),
    memory: flag('memory', Flags.string({ description: 'Memory limit of the Docker build step (default 4g).' })),
    cpus: flag('cpus', Flags.integer({ description: 'CPUs for the Docker build step (default: all).', min: 1 })),
    plan: flag(
      'plan',
      Flags.option({
        options: ['free', 'paid'] as const,
        description: "Check against this plan's limits (default: reyna.json, else free).",
      })(),
    ),
  };

  async run() {
    return this.flags.all ? this.buildAll() : this.buildOne();
  }

  private get dockerOptions() {
    if (!this.flags.docker) return undefined;
    return { baseImage: this.flags['base-image'], memory: this.flags.memory, cpus: this.flags.cpus };
  }

  private async buildOne() {
    return this.dockerOptions ? this.buildOneInDocker() : this.buildOneLocally();
  }

  private async buildOneInDocker() {
    const ctx = this.context();
    const steps = stepTasks<DockerStep>([
      { id: 'engine', title: 'Docker engine' },
      { id: 'image', title: 'Image: dependencies and sources' },
      { id: 'build', title: 'Build in the container (no network)' },
      { id: 'copy', title: 'Copy the output out' },
    ]);
    const live = process.stdout.isTTY === true && !this.json;
    const { buildInDocker } = await import('@reyna/core/build/docker');
    const running = buildInDocker(ctx, {
      ...this.dockerOptions,
      typecheck: this.flags.typecheck,
      plan: this.flags.plan,
      onStep: steps.onStep,
      onLog: live || this.json ? undefined : (line) => process.stderr.write(`${this.colors.dim(line)}\n`),
    });
    running.then(steps.finish, steps.fail);
    await Promise.allSettled([this.tasks(steps.tasks)]);
    return summarise(this.session, await running);
  }

  private buildOneLocally() {
    const { typecheck, install, plan } = this.flags;
    return buildLocally(this.session, { typecheck, install, plan });
  }

  private async buildAll() {
    const ctx = this.context();
    const apps = await findApps(ctx.cwd);
    // One line per app; the tasks' outcomes exist before any build starts (see stepTasks).
    const progress = stepTasks(apps.map((dir) => ({ id: dir, title: appLabel(ctx.cwd, dir) })));
    const running = buildAll(ctx, {
      apps,
      concurrency: this.flags.concurrency,
      typecheck: this.flags.typecheck,
      install: this.flags.install,
      plan: this.flags.plan,
      docker: this.dockerOptions,
      onApp: ({ dir, state, detail }) => progress.onStep(dir, state, detail),
    });
    running.then(progress.finish, progress.fail);
    if (apps.length > 0) {
      // A failed app does not stop the others.
      await this.tasks(progress.tasks, {}, { concurrent: true, exitOnError: false }).catch(() => {});
    }
    const { rows, failure } = summariseBuildAll(ctx.cwd, await running);
    if (failure) {
      if (!this.json) this.printTable(rows);
      throw failure;
    }
    return this.render({ results: rows }, () => this.printTable(rows));
  }

  private printTable(rows: BuildAllRow[]) {
    const c = this.colors;
    const width = Math.max(3, ...rows.map((r) => r.app.length));
    this.log(`\n${'app'.padEnd(width)}  result  time      worker (gzip)`);
    for (const r of rows) {
      const outcome = r.ok ? c.green('ok    ') : c.red('failed');
      const size = r.workerGzipBytes === undefined ? '' : formatBytes(r.workerGzipBytes);
      const time = `${(r.durationMs / 1000).toFixed(1)} s`.padEnd(8);
      this.log(
        `${r.app.padEnd(width)}  ${outcome}  ${time}  ${r.ok ? size : c.dim(r.error?.message.split('\n')[0] ?? '')}`,
      );
    }
  }
}
