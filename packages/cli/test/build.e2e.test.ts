import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, cleanEnv, MINIMAL_BUILD, repoRoot, reyna, tempDir } from './_reyna.js';
import { startStudio } from './_studio.js';

// Apps are made inside the repository so that they resolve the workspace's installed packages (vite, react,
// typescript) as a workspace member would, without an npm install per test.
const scratch = tempDir('build-', join(repoRoot, '.tmp'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const home = tempDir();
const coreVersion = JSON.parse(readFileSync(join(repoRoot, 'packages/core/package.json'), 'utf8')).version;

async function makeApp(template: string, name: string): Promise<string> {
  const made = await reyna(['init', name, '--template', template, '--no-install', '--no-git'], { cwd: scratch, home });
  expect(made.code, made.stderr).toBe(0);
  return join(scratch, name);
}

function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root);
  return out;
}

/** An app with no dependencies whose reyna.json runs `command` to build (make.cjs: MINIMAL_BUILD). */
function commandApp(
  name: string,
  command: string,
  extra: Record<string, unknown> = {},
  pkg: Record<string, unknown> = {},
): string {
  const app = tempDir(`${name}-`, scratch);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, ...pkg }));
  writeFileSync(join(app, 'make.cjs'), MINIMAL_BUILD);
  writeFileSync(join(app, 'reyna.json'), JSON.stringify({ name, build: { command }, ...extra }));
  return app;
}

describe('reyna build', () => {
  for (const template of ['react', 'vanilla']) {
    it(`builds the ${template} template, reproducibly, with a report that matches the files`, async () => {
      const app = await makeApp(template, `${template}-app`);
      const first = await reyna(['build', '--json'], { cwd: app, home });
      expect(first.code, first.stderr).toBe(0);
      const result = JSON.parse(first.stdout);
      const dist = join(app, 'dist');
      expect(result.outDir).toBe(dist);
      expect(existsSync(join(dist, 'client/index.html'))).toBe(true);
      expect(existsSync(join(dist, 'worker/index.js'))).toBe(true);
      expect(existsSync(result.logFile)).toBe(true);

      const report = JSON.parse(readFileSync(join(dist, 'reyna-build.json'), 'utf8'));
      const onDisk = files(dist);
      delete onDisk['reyna-build.json'];
      expect(Object.fromEntries(report.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256]))).toEqual(
        onDisk,
      );
      const html = report.files.find((f: { path: string }) => f.path === 'client/index.html');
      expect(html.contentType).toBe('text/html; charset=utf-8');
      expect(report.worker.gzipBytes).toBeGreaterThan(0);
      expect(report.worker.gzipBytes).toBeLessThan(report.worker.rawBytes);
      expect(report.worker.largestModules[0].path).toBe('worker/index.ts');
      expect(report.tools.vite).toMatch(/^\d+\.\d+\.\d+/);
      expect(report.tools.esbuild).toMatch(/^\d+\.\d+\.\d+/);
      expect(report.tools.node).toBe(process.version);
      expect(report.tools.reyna).toBe(coreVersion);
      expect(Object.keys(report.steps).sort()).toEqual(['check', 'client', 'typecheck', 'worker']);
      // APP_ID-free: the id is injected at deploy time only.
      expect(readFileSync(join(dist, 'client/index.html'), 'utf8')).not.toContain('window.ENV');

      const second = await reyna(['build', '--json'], { cwd: app, home });
      expect(second.code, second.stderr).toBe(0);
      const again = files(dist);
      delete again['reyna-build.json'];
      expect(again).toEqual(onDisk);
      const report2 = JSON.parse(readFileSync(join(dist, 'reyna-build.json'), 'utf8'));
      expect(report2.files).toEqual(report.files);
    });
  }

  it('a type error fails with file:line:column and exit 1, and keeps the previous build', async () => {
    const app = await makeApp('react', 'typo-app');
    expect((await reyna(['build'], { cwd: app, home })).code).toBe(0);
    const before = files(join(app, 'dist'));
    const main = join(app, 'src/main.tsx');
    writeFileSync(main, `${readFileSync(main, 'utf8')}\nconst answer: number = 'forty-two';\nconsole.log(answer);\n`);
    const line =
      readFileSync(main, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('forty-two')) + 1;
    const failed = await reyna(['build', '--json'], { cwd: app, home });
    expect(failed.code).toBe(1);
    const { error } = JSON.parse(failed.stdout);
    expect(error.code).toBe('E_TYPECHECK');
    expect(error.message).toContain(`src/main.tsx:${line}:7`);
    expect(error.hint).toContain('--no-typecheck');
    expect(files(join(app, 'dist'))).toEqual(before);

    // A passing check is remembered; a new file is still checked.
    writeFileSync(
      main,
      readFileSync(main, 'utf8').replace("const answer: number = 'forty-two';", 'const answer = 42;'),
    );
    expect((await reyna(['build'], { cwd: app, home })).code).toBe(0);
    const cached = await reyna(['build'], { cwd: app, home });
    expect(cached.stdout + cached.stderr).toContain('up to date');
    writeFileSync(join(app, 'src/extra.ts'), 'export const wrong: string = 1;\n');
    const added = await reyna(['build', '--json'], { cwd: app, home });
    expect(added.code).toBe(1);
    expect(JSON.parse(added.stdout).error.message).toContain('src/extra.ts:1:14');
  });

  it('a syntax error in the Worker names its place', async () => {
    const app = await makeApp('vanilla', 'broken-worker');
    writeFileSync(join(app, 'worker/index.ts'), 'export default {\n  fetch() { return new Response("x") \n};\n');
    const failed = await reyna(['build', '--no-typecheck'], { cwd: app, home });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/E_COMPILE|does not compile/);
    expect(failed.stderr).toMatch(/worker\/index\.ts:3:\d+/);
    expect(existsSync(join(app, 'dist'))).toBe(false);
  });

  it('a syntax error in the client names its place', async () => {
    const app = await makeApp('vanilla', 'broken-client');
    writeFileSync(join(app, 'src/main.ts'), 'export const ok = 1;\nconst a = ;\n');
    const failed = await reyna(['build', '--no-typecheck', '--json'], { cwd: app, home });
    expect(failed.code).toBe(1);
    const { error } = JSON.parse(failed.stdout);
    expect(error.code).toBe('E_COMPILE');
    expect(error.message).toContain('src/main.ts:2:11');
    expect(error.hint).toContain('src/main.ts:2:11');
  });

  it('refuses a Worker over the free plan with its gzip size and largest module', async () => {
    const app = await makeApp('vanilla', 'fat-worker');
    // Random bytes do not compress: 4.5 MiB of base64 stays over 3 MiB after gzip.
    writeFileSync(
      join(app, 'worker/padding.ts'),
      `export const padding = "${randomBytes(3.4 * 1024 * 1024).toString('base64')}";\n`,
    );
    const entry = join(app, 'worker/index.ts');
    writeFileSync(
      entry,
      `import { padding } from './padding';\n${readFileSync(entry, 'utf8').replace("'Hello from the Worker'", "'Hello from the Worker' + padding.length")}`,
    );
    const failed = await reyna(['build', '--no-typecheck', '--json'], { cwd: app, home });
    expect(failed.code).toBe(1);
    const { error } = JSON.parse(failed.stdout);
    expect(error.code).toBe('E_WORKER_TOO_LARGE');
    expect(error.message).toMatch(/The Worker is \d\.\d\d MiB after gzip, over the 3\.00 MiB limit of the free plan/);
    expect(error.message).toContain('worker/padding.ts');
    expect(error.details.largestModules[0].path).toBe('worker/padding.ts');
    expect(existsSync(join(app, 'dist'))).toBe(false);
    // The paid plan allows it.
    const paid = await reyna(['build', '--no-typecheck', '--plan', 'paid'], { cwd: app, home });
    expect(paid.code, paid.stderr).toBe(0);
  });

  it('bundles the Worker with the workerd, worker and browser export conditions, and writes its source map', async () => {
    const app = await makeApp('vanilla', 'conditions');
    // One package per condition, each with a default beside it that must lose.
    for (const condition of ['workerd', 'worker', 'browser']) {
      const pkg = join(app, 'node_modules', `only-${condition}`);
      mkdirSync(pkg, { recursive: true });
      writeFileSync(
        join(pkg, 'package.json'),
        JSON.stringify({ name: `only-${condition}`, exports: { [condition]: './picked.js', default: './node.js' } }),
      );
      writeFileSync(join(pkg, 'picked.js'), `export const value = 'picked-${condition}';\n`);
      writeFileSync(join(pkg, 'node.js'), `export const value = 'picked-default';\n`);
    }
    writeFileSync(
      join(app, 'worker/index.ts'),
      `import { value as a } from 'only-workerd';
import { value as b } from 'only-worker';
import { value as c } from 'only-browser';
export default { fetch() { return new Response([a, b, c].join(' ')); } };
`,
    );
    const ran = await reyna(['build', '--no-typecheck', '--json'], { cwd: app, home });
    expect(ran.code, ran.stderr).toBe(0);
    const code = readFileSync(join(app, 'dist/worker/index.js'), 'utf8');
    for (const condition of ['workerd', 'worker', 'browser']) expect(code).toContain(`picked-${condition}`);
    expect(code).not.toContain('picked-default');
    const map = JSON.parse(readFileSync(join(app, 'dist/worker/index.js.map'), 'utf8'));
    expect(map.sources.some((source: string) => source.endsWith('worker/index.ts'))).toBe(true);
    const { report } = JSON.parse(ran.stdout);
    expect(report.files.map((f: { path: string }) => f.path)).toContain('worker/index.js.map');
  });

  it('build.limits in reyna.json override the plan, each limit with its own error', async () => {
    const cases: [Record<string, number>, string, string][] = [
      [{ workerGzipBytes: 20 }, 'E_WORKER_TOO_LARGE', 'over the 20 B limit'],
      [{ assetBytes: 10 }, 'E_ASSET_TOO_LARGE', 'over the 10 B limit per file: index.html'],
      [{ files: 1 }, 'E_TOO_MANY_FILES', 'The build has 2 static files, over the 1 limit'],
    ];
    const command = 'node make.cjs && echo extra > dist/client/extra.txt';
    for (const [limits, code, text] of cases) {
      const app = commandApp('limited', command, { build: { command, limits } });
      const ran = await reyna(['build', '--json'], { cwd: app, home });
      expect(ran.code, ran.stderr).toBe(1);
      const { error } = JSON.parse(ran.stdout);
      expect(error.code).toBe(code);
      expect(error.message).toContain(text);
    }
    // Raised as the platform raises them: the same build passes.
    const app = commandApp('raised', 'node make.cjs', {
      build: { command: 'node make.cjs', limits: { files: 100_000 } },
    });
    const ran = await reyna(['build', '--json'], { cwd: app, home });
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout).report.limits.files).toBe(100_000);
  });

  it('a failing dependency install is E_INSTALL_FAILED with npm’s last lines, and the whole output is in the log', async () => {
    const app = commandApp(
      'uninstallable',
      'node make.cjs',
      {},
      { dependencies: { 'missing-dep': 'file:./nope.tgz' } },
    );
    const ran = await reyna(['build', '--json'], { cwd: app, home });
    expect(ran.code).toBe(1);
    const { error } = JSON.parse(ran.stdout);
    expect(error.code).toBe('E_INSTALL_FAILED');
    expect(error.message).toMatch(/^npm install failed:\n/);
    expect(error.message).toContain('nope.tgz');
    expect(error.hint).toContain('.reyna/builds/');
    const logs = join(app, '.reyna/builds');
    const log = readFileSync(join(logs, readdirSync(logs)[0] as string), 'utf8');
    expect(log).toContain('npm error code ENOENT');
    expect(log).toContain('error E_INSTALL_FAILED');
  }, 120_000);

  it('streams the log: a line printed early by a slow build reaches stderr and the log file before it ends', async () => {
    const app = commandApp('slow', 'echo early-line; sleep 4; echo late-line; node make.cjs');
    const child = spawn(process.execPath, [bin, 'build'], {
      cwd: app,
      env: cleanEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.on('close', done));
    const early = new Promise<void>((done) =>
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (stderr.includes('early-line')) done();
      }),
    );
    const first = await Promise.race([early.then(() => 'early' as const), exited.then(() => 'exited' as const)]);
    expect(first).toBe('early');
    expect(child.exitCode).toBeNull();
    expect(stderr).not.toContain('late-line');
    // The log file is written beside stderr, not before it: on a loaded machine it may trail by a moment.
    const logs = join(app, '.reyna/builds');
    const logged = async () => {
      for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
        const log = readdirSync(logs).find((name) => name.endsWith('.log'));
        if (log && readFileSync(join(logs, log), 'utf8').includes('early-line')) return log;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return undefined;
    };
    const log = (await logged()) as string;
    expect(log).toBeDefined();
    expect(child.exitCode).toBeNull();
    expect(await exited).toBe(0);
    expect(readFileSync(join(logs, log), 'utf8')).toContain('late-line');
  }, 60_000);

  it('a linked app sends a record of each build, success or failure, to the studio server', async () => {
    const studio = await startStudio();
    try {
      const appId = await studio.createApp('linked');
      const app = commandApp('linked', 'node make.cjs', { appId });
      const env = { REYNA_SERVER: studio.url, REYNA_TOKEN: studio.token };
      const ok = await reyna(['build', '--json'], { cwd: app, home, env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).record).toMatchObject({ recorded: true });
      writeFileSync(join(app, 'reyna.json'), JSON.stringify({ name: 'linked', appId, build: { command: 'exit 2' } }));
      const failed = await reyna(['build', '--json'], { cwd: app, home, env });
      expect(failed.code).toBe(1);
      const builds = await studio.builds(appId);
      expect(builds.map((b) => b.status)).toEqual(['failure', 'success']);
      expect(builds[1]?.sizes).toMatchObject({ files: 2 });
    } finally {
      await studio.close();
    }
  }, 60_000);

  it('--all builds every app, reports each, and fails if one fails', async () => {
    const workspace = tempDir('all-', scratch);
    const good = await reyna(['init', 'good', '--template', 'vanilla', '--no-install', '--no-git'], {
      cwd: workspace,
      home,
    });
    expect(good.code, good.stderr).toBe(0);
    const bad = await reyna(['init', 'bad', '--template', 'vanilla', '--no-install', '--no-git'], {
      cwd: workspace,
      home,
    });
    expect(bad.code, bad.stderr).toBe(0);
    writeFileSync(join(workspace, 'bad/src/main.ts'), 'const x: number = "nope";\nexport {};\n');
    const ran = await reyna(['build', '--all', '--concurrency', '2'], { cwd: workspace, home });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toMatch(/good\s+ok/);
    expect(ran.stdout).toMatch(/bad\s+failed/);
    expect(ran.stderr).toContain('1 of 2 apps failed to build');
    expect(existsSync(join(workspace, 'good/dist/worker/index.js'))).toBe(true);

    const json = await reyna(['build', '--all', '--json'], { cwd: workspace, home });
    expect(json.code).toBe(1);
    const { error } = JSON.parse(json.stdout);
    expect(error.code).toBe('E_BUILD_FAILED');
    const byApp = Object.fromEntries(error.details.results.map((r: { app: string; ok: boolean }) => [r.app, r.ok]));
    expect(byApp).toEqual({ bad: false, good: true });
  });

  it('--all reports an app that fails at once (invalid reyna.json) beside a good one, in every mode', async () => {
    const workspace = tempDir('all-fast-', scratch);
    for (const app of ['good', 'invalid']) {
      const made = await reyna(['init', app, '--template', 'vanilla', '--no-install', '--no-git'], {
        cwd: workspace,
        home,
      });
      expect(made.code, made.stderr).toBe(0);
    }
    writeFileSync(join(workspace, 'invalid/reyna.json'), '{"name": 5}\n');
    // Its failure comes before the progress display waits for it: it must still be counted.
    for (const mode of [[], ['--concurrency', '1']]) {
      const plain = await reyna(['build', '--all', '--no-typecheck', ...mode], { cwd: workspace, home });
      expect(plain.code, plain.stderr).toBe(1);
      expect(plain.stdout).toMatch(/good\s+ok/);
      expect(plain.stdout).toMatch(/invalid\s+failed\s+.*reyna\.json is invalid/);
      expect(plain.stderr).toContain('1 of 2 apps failed to build');
    }
    const json = await reyna(['build', '--all', '--no-typecheck', '--json'], { cwd: workspace, home });
    expect(json.code, json.stderr).toBe(1);
    const { error } = JSON.parse(json.stdout);
    expect(error.code).toBe('E_BUILD_FAILED');
    const byApp = Object.fromEntries(
      error.details.results.map((r: { app: string; ok: boolean; error?: { code: string } }) => [
        r.app,
        r.error?.code ?? 'ok',
      ]),
    );
    expect(byApp).toEqual({ good: 'ok', invalid: 'E_CONFIG_INVALID' });
  }, 90_000);
});
