import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINIMAL_BUILD, reyna, tempDir } from './_reyna.js';
import { need } from './_services.js';
import { type Studio, startStudio } from './_studio.js';

const engine = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const baseImage = process.env.REYNA_TEST_BASE_IMAGE ?? 'reyna-local/node:20';
const hasImage = engine && spawnSync('docker', ['image', 'inspect', baseImage], { stdio: 'ignore' }).status === 0;
const docker = need(
  'A Docker engine with a Node base image',
  hasImage,
  'run .ci/docker-up.sh and export REYNA_TEST_BASE_IMAGE',
);

function sums(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name !== 'reyna-build.json') {
        out[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
      }
    }
  };
  walk(root);
  return out;
}

const home = tempDir();

/** A vanilla app, dependencies not installed, in a fresh temp dir. */
async function vanillaApp(): Promise<string> {
  const work = tempDir();
  const made = await reyna(['init', 'app', '--template', 'vanilla', '--no-install', '--no-git'], { cwd: work, home });
  expect(made.code, made.stderr).toBe(0);
  return join(work, 'app');
}

describe('reyna build --docker', () => {
  it('without a Docker engine fails with the fix', async () => {
    const app = await vanillaApp();
    const ran = await reyna(['build', '--docker', '--json'], {
      cwd: app,
      home,
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(ran.code).toBe(1);
    const { error } = JSON.parse(ran.stdout);
    expect(error.code).toBe('E_DOCKER_UNAVAILABLE');
    expect(error.hint).toContain('reyna doctor');

    // No docker command at all: the same error, not a missing-command one.
    const bare = await reyna(['build', '--docker', '--json'], {
      cwd: app,
      home,
      env: { PATH: tempDir() },
    });
    expect(bare.code).toBe(1);
    const missing = JSON.parse(bare.stdout).error;
    expect(missing.code).toBe('E_DOCKER_UNAVAILABLE');
    expect(missing.message).toContain('`docker` command is not installed or not on PATH');
    expect(missing.hint).toContain('reyna doctor');
  });

  describe.runIf(docker)('with a Docker engine', () => {
    for (const template of ['react', 'vanilla']) {
      it(`builds the ${template} template to the same bytes as a local build, reusing the dependency layer`, async () => {
        const work = tempDir();
        // A real install: the image gets its dependencies from the app's own lockfile, as in production.
        const made = await reyna(['init', 'app', '--template', template, '--no-git', '--yes'], { cwd: work, home });
        expect(made.code, made.stderr).toBe(0);
        const app = join(work, 'app');
        const local = await reyna(['build'], { cwd: app, home });
        expect(local.code, local.stderr).toBe(0);
        const localSums = sums(join(app, 'dist'));

        const inDocker = await reyna(['build', '--docker', '--base-image', baseImage, '--json'], { cwd: app, home });
        expect(inDocker.code, inDocker.stderr).toBe(0);
        const result = JSON.parse(inDocker.stdout);
        expect(sums(join(app, 'dist'))).toEqual(localSums);
        expect(result.report.files.map((f: { path: string }) => f.path)).toContain('worker/index.js');

        // Only a source changes: the dependency layer comes from Docker's cache.
        writeFileSync(
          join(app, 'src/style.css'),
          `${readFileSync(join(app, 'src/style.css'), 'utf8')}\nbody{margin:1px}\n`,
        );
        const again = await reyna(['build', '--docker', '--base-image', baseImage, '--json'], { cwd: app, home });
        expect(again.code, again.stderr).toBe(0);
        const log = readFileSync(JSON.parse(again.stdout).logFile, 'utf8');
        const install = log.split('\n').findIndex((l) => l.includes('RUN npm install'));
        expect(install).toBeGreaterThan(-1);
        expect(log.split('\n')[install + 1]).toMatch(/Using cache|CACHED/);
        // Two real npm installs and three builds: ~25 s on an idle machine, well over a minute on a loaded one.
      }, 240_000);
    }

    it('runs the build as a non-root user, with no network and the memory limit', async () => {
      const app = await vanillaApp();
      writeFileSync(
        join(app, 'probe.cjs'),
        `const fs = require('node:fs'); const os = require('node:os');
const read = (p) => { try { return fs.readFileSync(p, 'utf8').trim(); } catch { return null; } };
fs.mkdirSync('dist/client', { recursive: true }); fs.mkdirSync('dist/worker', { recursive: true });
fs.writeFileSync('dist/worker/index.js', 'export default { fetch() { return new Response("ok"); } };');
fs.writeFileSync('dist/client/probe.json', JSON.stringify({
  uid: process.getuid(),
  interfaces: Object.keys(os.networkInterfaces()),
  memory: read('/sys/fs/cgroup/memory.max') ?? read('/sys/fs/cgroup/memory/memory.limit_in_bytes'),
  cpu: read('/sys/fs/cgroup/cpu.max') ?? [read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')].join(' '),
  pids: read('/sys/fs/cgroup/pids.max') ?? read('/sys/fs/cgroup/pids/pids.max'),
}));
`,
      );
      const config = JSON.parse(readFileSync(join(app, 'reyna.json'), 'utf8'));
      config.build = { ...config.build, command: 'node probe.cjs' };
      writeFileSync(join(app, 'reyna.json'), JSON.stringify(config));
      const ran = await reyna(['build', '--docker', '--base-image', baseImage, '--memory', '512m', '--cpus', '1'], {
        cwd: app,
        home,
      });
      expect(ran.code, ran.stderr).toBe(0);
      const probe = JSON.parse(readFileSync(join(app, 'dist/client/probe.json'), 'utf8'));
      expect(probe.uid).toBe(1000);
      expect(probe.interfaces).toEqual(['lo']);
      expect(Number(probe.memory)).toBe(512 * 1024 * 1024);
      // One CPU is a quota of one period (cgroup v2 cpu.max, or v1 cfs quota and period); pids is reyna's default.
      const [quota, period] = String(probe.cpu).split(' ').map(Number);
      expect(quota).toBe(period);
      expect(probe.pids).toBe('1024');
    }, 120_000);

    describe('against a studio server', () => {
      let studio: Studio;
      beforeAll(async () => {
        studio = await startStudio();
      }, 60_000);
      afterAll(() => studio?.close());

      it('uses the app’s Dockerfile.reyna, and the host sends the build record of a linked app', async () => {
        const app = await vanillaApp();
        // No dependencies, so no install: this image holds the sources and a file only this Dockerfile makes.
        writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
        writeFileSync(
          join(app, 'Dockerfile.reyna'),
          `ARG BASE_IMAGE
FROM \${BASE_IMAGE}
WORKDIR /app
RUN chown 1000:1000 /app
USER 1000:1000
COPY --chown=1000:1000 . .
RUN echo from-dockerfile-reyna > marker.txt
`,
        );
        writeFileSync(
          join(app, 'make.cjs'),
          `${MINIMAL_BUILD}fs.copyFileSync('marker.txt', 'dist/client/marker.txt');\n`,
        );
        const appId = await studio.createApp('docker-app');
        const config = JSON.parse(readFileSync(join(app, 'reyna.json'), 'utf8'));
        const write = (command: string) =>
          writeFileSync(
            join(app, 'reyna.json'),
            JSON.stringify({ ...config, appId, build: { ...config.build, command } }),
          );
        write('node make.cjs');
        const env = { REYNA_SERVER: studio.url, REYNA_TOKEN: studio.token };
        const ran = await reyna(['build', '--docker', '--base-image', baseImage, '--json'], { cwd: app, home, env });
        expect(ran.code, ran.stderr).toBe(0);
        expect(readFileSync(join(app, 'dist/client/marker.txt'), 'utf8').trim()).toBe('from-dockerfile-reyna');
        const result = JSON.parse(ran.stdout);
        expect(result.record).toMatchObject({ recorded: true });
        const [built] = await studio.builds(appId);
        expect(built).toMatchObject({ status: 'success', sizes: { files: 3 } });
        expect(built?.sizes.workerGzip).toBeGreaterThan(0);

        write('exit 3');
        const failed = await reyna(['build', '--docker', '--base-image', baseImage, '--json'], { cwd: app, home, env });
        expect(failed.code).toBe(1);
        expect(JSON.parse(failed.stdout).error.code).toBe('E_BUILD_COMMAND_FAILED');
        const builds = await studio.builds(appId);
        expect(builds.map((b) => b.status)).toEqual(['failure', 'success']);
      }, 120_000);
    });
  });
});
