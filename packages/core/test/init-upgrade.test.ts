import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeContext } from '../src/context.js';
import { initApp } from '../src/init/index.js';
import { ReynaConfig } from '../src/protocol/config.js';
import { abortUpgrade, continueUpgrade, upgradeApp } from '../src/upgrade/index.js';
import { git, manifest, tempDir, templateRepo } from './_repo.js';

const v1 = {
  'template.json': manifest('1.0.0'),
  'package.json': '{"name":"tpl","private":true}\n',
  'README.md': '# {{name}}\n\nLine one.\nLine two.\nLine three.\n',
  'src/app.ts': 'export const a = 1;\nexport const b = 2;\nexport const c = 3;\n',
  'old.txt': 'this file goes away\n',
  'moved.txt': 'alpha\nbeta\ngamma\ndelta\n',
  'run.sh': '#!/bin/sh\necho hi\n',
  _gitignore: 'node_modules\ndist\n',
};
const v2 = {
  'template.json': manifest('2.0.0'),
  'README.md': '# {{name}}\n\nLine one.\nLine two.\nLine three, improved.\n',
  'src/app.ts': 'export const a = 1;\nexport const b = 2;\nexport const c = 30;\n',
  'old.txt': null,
  'moved.txt': null,
  'renamed/moved.txt': 'alpha\nbeta\ngamma\ndelta\nepsilon\n',
  'src/new.ts': 'export const added = true;\n',
};

function setup(
  extraEnv: Record<string, string> = {},
  versions = [
    { tag: 'v1', files: v1 },
    { tag: 'v2', files: v2 },
  ],
) {
  const repo = templateRepo(versions, { executable: ['run.sh'] });
  const work = tempDir();
  const ctx = makeContext({ cwd: work, env: { ...process.env, XDG_CACHE_HOME: join(work, '.cache'), ...extraEnv } });
  return { repo, work, ctx, builtinRoot: join(work, 'no-builtins') };
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');

describe('init from a git template', () => {
  it('creates the app at the ref, fills placeholders and records where it came from', async () => {
    const { repo, work, ctx, builtinRoot } = setup();
    const result = await initApp(ctx, {
      dir: 'my-app',
      template: `git+file://${repo}#v1`,
      install: false,
      builtinRoot,
    });
    const app = join(work, 'my-app');
    expect(result.name).toBe('my-app');
    expect(read(app, 'README.md')).toContain('# my-app');
    expect(JSON.parse(read(app, 'package.json')).name).toBe('my-app');
    expect(existsSync(join(app, 'template.json'))).toBe(false);
    expect(read(app, '.gitignore')).toContain('node_modules');
    const config = JSON.parse(read(app, 'reyna.json'));
    // $schema names a file beside reyna.json: editors find it offline, with nothing to install.
    expect(config.$schema).toBe('./reyna.schema.json');
    const schema = JSON.parse(read(app, config.$schema));
    const required = Object.entries(ReynaConfig.shape)
      .filter(([, field]) => !field.safeParse(undefined).success)
      .map(([key]) => key);
    expect(schema.required).toEqual(required);
    expect(required).toEqual(['name']);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(ReynaConfig.shape).sort());
    expect(schema.additionalProperties).toBe(false);
    for (const key of Object.keys(config)) expect(schema.properties).toHaveProperty([key]);
    for (const key of Object.keys(config.template)) expect(schema.properties.template.properties).toHaveProperty([key]);
    expect(config.template).toEqual({
      source: `file://${repo}`,
      ref: 'v1',
      commit: git(repo, 'rev-parse', 'v1'),
      version: '1.0.0',
      values: { name: 'my-app' },
    });
    expect(git(app, 'log', '--format=%s')).toMatch(/Initial commit from reyna init/);
    expect(git(app, 'status', '--porcelain')).toBe('');
    // Nothing but the app is left beside it: no staging directory.
    expect(readdirSync(work).filter((name) => name.startsWith('.reyna-init'))).toEqual([]);
  });

  it('works offline once the repository is cached, and says so when it is not', async () => {
    const { repo, ctx, builtinRoot } = setup();
    await expect(
      initApp(ctx, { dir: 'a', template: `${repo}#v1`, install: false, git: false, offline: true, builtinRoot }),
    ).rejects.toMatchObject({ code: 'E_TEMPLATE_NOT_CACHED' });
    await initApp(ctx, { dir: 'b', template: `${repo}#v1`, install: false, git: false, builtinRoot });
    const offline = await initApp(ctx, {
      dir: 'c',
      template: `${repo}#v2`,
      install: false,
      git: false,
      offline: true,
      builtinRoot,
    });
    expect(offline.template.version).toBe('2.0.0');
  });

  it('explains a bad ref, an unreachable repository, a missing subdirectory and a non-empty target', async () => {
    const { repo, work, ctx, builtinRoot } = setup();
    await expect(initApp(ctx, { dir: 'a', template: `${repo}#v9`, install: false, builtinRoot })).rejects.toMatchObject(
      {
        code: 'E_TEMPLATE_REF_NOT_FOUND',
        hint: expect.stringContaining('v1'),
      },
    );
    await expect(
      initApp(ctx, { dir: 'a', template: `git+file://${work}/nowhere.git#v1`, install: false, builtinRoot }),
    ).rejects.toMatchObject({ code: 'E_TEMPLATE_UNREACHABLE' });
    await expect(
      initApp(ctx, { dir: 'a', template: `git+file://${repo}/.git/nope#v1`, install: false, builtinRoot }),
    ).rejects.toMatchObject({ code: 'E_TEMPLATE_SUBDIR_NOT_FOUND' });
    mkdirSync(join(work, 'full'));
    writeFileSync(join(work, 'full', 'keep.txt'), 'mine');
    await expect(
      initApp(ctx, { dir: 'full', template: `${repo}#v1`, install: false, builtinRoot }),
    ).rejects.toMatchObject({
      code: 'E_TARGET_NOT_EMPTY',
    });
    expect(readdirSync(join(work, 'full'))).toEqual(['keep.txt']);
    await initApp(ctx, { dir: 'full', template: `${repo}#v1`, install: false, git: false, force: true, builtinRoot });
    expect(read(join(work, 'full'), 'keep.txt')).toBe('mine');
    expect(existsSync(join(work, 'full', 'reyna.json'))).toBe(true);
    expect(existsSync(join(work, 'a'))).toBe(false);
  });

  it('with preferOffline uses the cached ref without fetching, and fetches a ref the cache lacks', async () => {
    const { repo, ctx, builtinRoot } = setup();
    const init = (dir: string, ref: string, preferOffline: boolean) =>
      initApp(ctx, { dir, template: `${repo}#${ref}`, install: false, git: false, preferOffline, builtinRoot });
    const first = await init('a', 'main', false);
    // The repository moves on after it was cached: a new commit on main, tagged v3.
    writeFileSync(join(repo, 'README.md'), '# {{name}}\n\nNewer.\n');
    git(repo, 'commit', '--quiet', '-am', 'v3');
    git(repo, 'tag', 'v3');
    expect((await init('b', 'main', true)).template.commit).toBe(first.template.commit);
    expect((await init('c', 'v3', true)).template.commit).toBe(git(repo, 'rev-parse', 'v3'));
    expect((await init('d', 'main', false)).template.commit).toBe(git(repo, 'rev-parse', 'v3'));
  });

  it('says git is missing when it is', async () => {
    const { repo, ctx, builtinRoot } = setup({ PATH: '/nonexistent' });
    await expect(initApp(ctx, { dir: 'a', template: `${repo}#v1`, install: false, builtinRoot })).rejects.toMatchObject(
      {
        code: 'E_GIT_MISSING',
      },
    );
  });

  it('removes everything when interrupted', async () => {
    const { repo, work, ctx, builtinRoot } = setup();
    const controller = new AbortController();
    controller.abort();
    await expect(
      initApp({ ...ctx, signal: controller.signal }, { dir: 'a', template: `${repo}#v1`, install: false, builtinRoot }),
    ).rejects.toMatchObject({ code: 'E_INTERRUPTED' });
    expect(readdirSync(work).filter((name) => name !== '.cache')).toEqual([]);
  });
});

describe('upgrade', () => {
  async function appAtV1() {
    const env = setup();
    await initApp(env.ctx, { dir: 'app', template: `${env.repo}#v1`, install: false, builtinRoot: env.builtinRoot });
    return { ...env, app: join(env.work, 'app') };
  }

  it('merges a newer template into an edited app and records the new commit', async () => {
    const { repo, ctx, builtinRoot, app } = await appAtV1();
    writeFileSync(join(app, 'src/app.ts'), 'export const a = 100;\nexport const b = 2;\nexport const c = 3;\n');
    writeFileSync(join(app, 'moved.txt'), 'ALPHA\nbeta\ngamma\ndelta\n');
    const dry = await upgradeApp(ctx, { dir: 'app', to: 'v2', dryRun: true, builtinRoot });
    expect(dry.conflicts).toEqual([]);
    expect(read(app, 'src/app.ts')).toContain('c = 3;');

    const plan = await upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot });
    expect(plan.actions).toEqual(
      expect.arrayContaining([
        { path: 'README.md', action: 'update' },
        { path: 'src/app.ts', action: 'merge' },
        { path: 'old.txt', action: 'delete' },
        { path: 'src/new.ts', action: 'add' },
        { path: 'renamed/moved.txt', action: 'rename', from: 'moved.txt', merged: true },
      ]),
    );
    expect(read(app, 'src/app.ts')).toBe('export const a = 100;\nexport const b = 2;\nexport const c = 30;\n');
    expect(read(app, 'README.md')).toContain('# app\n');
    expect(read(app, 'README.md')).toContain('improved');
    expect(read(app, 'renamed/moved.txt')).toBe('ALPHA\nbeta\ngamma\ndelta\nepsilon\n');
    expect(existsSync(join(app, 'moved.txt'))).toBe(false);
    expect(existsSync(join(app, 'old.txt'))).toBe(false);
    expect(statSync(join(app, 'run.sh')).mode & 0o111).not.toBe(0);
    const config = JSON.parse(read(app, 'reyna.json'));
    expect(config.template.commit).toBe(git(repo, 'rev-parse', 'v2'));
    expect(config.template.version).toBe('2.0.0');

    expect((await upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot })).upToDate).toBe(true);
    expect(config.$schema).toBe('./reyna.schema.json');
    expect(JSON.parse(read(app, 'reyna.schema.json')).title).toBe('reyna.json');
  });

  it('moves an app whose $schema pointed at the unpublished package to the schema file beside it', async () => {
    const { ctx, builtinRoot, app } = await appAtV1();
    const config = JSON.parse(read(app, 'reyna.json'));
    const legacy = 'https://unpkg.com/@reyna/core@0/schema/reyna.schema.json';
    writeFileSync(join(app, 'reyna.json'), JSON.stringify({ ...config, $schema: legacy }));
    rmSync(join(app, 'reyna.schema.json'));
    await upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot });
    expect(JSON.parse(read(app, 'reyna.json')).$schema).toBe('./reyna.schema.json');
    expect(JSON.parse(read(app, 'reyna.schema.json')).required).toEqual(['name']);
  });

  it('defaults to the newest tag', async () => {
    const { ctx, builtinRoot, app } = await appAtV1();
    const plan = await upgradeApp(ctx, { dir: 'app', builtinRoot });
    expect(plan.to.version).toBe('2.0.0');
    expect(JSON.parse(read(app, 'reyna.json')).template.ref).toBe('v2');
  });

  it('puts the template version of a binary file beside yours, and leaves a file you deleted deleted', async () => {
    const { repo, work, ctx, builtinRoot } = setup({}, [
      { tag: 'v1', files: { 'template.json': manifest('1.0.0'), 'logo.bin': '\0logo one\n', 'notes.md': 'one\n' } },
      { tag: 'v2', files: { 'template.json': manifest('2.0.0'), 'logo.bin': '\0logo two\n', 'notes.md': 'two\n' } },
    ]);
    await initApp(ctx, { dir: 'app', template: `${repo}#v1`, install: false, git: false, builtinRoot });
    const app = join(work, 'app');
    writeFileSync(join(app, 'logo.bin'), '\0my logo\n');
    rmSync(join(app, 'notes.md'));

    const error = await upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot }).catch((e) => e);
    expect(error).toMatchObject({ code: 'E_UPGRADE_CONFLICTS', details: { conflicts: ['logo.bin', 'notes.md'] } });
    expect(error.details.plan.actions).toEqual([
      { path: 'logo.bin', action: 'conflict', kind: 'binary' },
      { path: 'notes.md', action: 'conflict', kind: 'deleted-here' },
    ]);
    expect(error.message).toBe(
      "The upgrade left 2 conflicts: logo.bin (binary: the template's version is beside it as *.template-new), " +
        'notes.md (you deleted it, the template changed it: restore it or leave it deleted)',
    );
    expect(read(app, 'logo.bin')).toBe('\0my logo\n');
    expect(read(app, 'logo.bin.template-new')).toBe('\0logo two\n');
    expect(existsSync(join(app, 'notes.md'))).toBe(false);

    // Resolved once the *.template-new file is gone; the deleted file needs nothing.
    await expect(continueUpgrade(ctx, { dir: 'app' })).rejects.toMatchObject({
      code: 'E_UPGRADE_CONFLICTS',
      details: { conflicts: ['logo.bin'] },
    });
    rmSync(join(app, 'logo.bin.template-new'));
    expect((await continueUpgrade(ctx, { dir: 'app' })).template.version).toBe('2.0.0');
    expect(read(app, 'logo.bin')).toBe('\0my logo\n');
    expect(existsSync(join(app, 'notes.md'))).toBe(false);
  });

  it('says so when the state of an upgrade in progress is damaged', async () => {
    const { ctx, builtinRoot, app } = await appAtV1();
    writeFileSync(join(app, 'src/app.ts'), 'export const c = 300;\n');
    await expect(upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot })).rejects.toMatchObject({
      code: 'E_UPGRADE_CONFLICTS',
    });
    writeFileSync(join(app, '.reyna/upgrade/state.json'), '{"to":');
    for (const finish of [continueUpgrade, abortUpgrade]) {
      await expect(finish(ctx, { dir: 'app' })).rejects.toMatchObject({
        code: 'E_UPGRADE_STATE_INVALID',
        hint: expect.stringContaining('.reyna/upgrade'),
      });
    }
  });

  it('stops on a conflict, records nothing until --continue, and --abort restores the app', async () => {
    const { repo, ctx, builtinRoot, app } = await appAtV1();
    const mine = 'export const a = 1;\nexport const b = 2;\nexport const c = 300;\n';
    writeFileSync(join(app, 'src/app.ts'), mine);
    writeFileSync(join(app, 'old.txt'), 'I changed this\n');

    await expect(upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot })).rejects.toMatchObject({
      code: 'E_UPGRADE_CONFLICTS',
      details: expect.objectContaining({ conflicts: ['old.txt', 'src/app.ts'] }),
    });
    expect(read(app, 'src/app.ts')).toMatch(
      /<<<<<<< your src\/app.ts[\s\S]*c = 300[\s\S]*=======[\s\S]*c = 30;[\s\S]*>>>>>>> template 2.0.0/,
    );
    expect(read(app, 'old.txt')).toBe('I changed this\n');
    expect(JSON.parse(read(app, 'reyna.json')).template.version).toBe('1.0.0');
    await expect(upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot })).rejects.toMatchObject({
      code: 'E_UPGRADE_IN_PROGRESS',
    });

    await abortUpgrade(ctx, { dir: 'app' });
    expect(read(app, 'src/app.ts')).toBe(mine);
    expect(existsSync(join(app, 'src/new.ts'))).toBe(false);
    expect(existsSync(join(app, 'moved.txt'))).toBe(true);

    await expect(upgradeApp(ctx, { dir: 'app', to: 'v2', builtinRoot })).rejects.toMatchObject({
      code: 'E_UPGRADE_CONFLICTS',
    });
    await expect(continueUpgrade(ctx, { dir: 'app' })).rejects.toMatchObject({
      code: 'E_UPGRADE_CONFLICTS',
      details: { conflicts: ['src/app.ts'] },
    });
    writeFileSync(join(app, 'src/app.ts'), 'export const a = 1;\nexport const b = 2;\nexport const c = 330;\n');
    const done = await continueUpgrade(ctx, { dir: 'app' });
    expect(done.template.commit).toBe(git(repo, 'rev-parse', 'v2'));
    expect(JSON.parse(read(app, 'reyna.json')).template.version).toBe('2.0.0');
    await expect(continueUpgrade(ctx, { dir: 'app' })).rejects.toMatchObject({ code: 'E_NO_UPGRADE_IN_PROGRESS' });
  });
});
