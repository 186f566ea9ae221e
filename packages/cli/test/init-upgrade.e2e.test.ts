import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, repoRoot, reyna, tempDir, templateRepo } from './_reyna.js';

const manifest = (version: string) => JSON.stringify({ name: 'web', version, placeholders: ['name'] });
const v1 = {
  'template.json': manifest('1.0.0'),
  'package.json': '{"name":"web-template","private":true}\n',
  'README.md': '# {{name}}\n\nStart here.\nThen go on.\n',
  'src/main.js': "const greeting = 'hello';\nconst who = 'world';\n\n// Say it.\nconsole.log(greeting, who);\n",
};
const v2 = {
  'template.json': manifest('2.0.0'),
  'src/main.js':
    "const greeting = 'hello';\nconst who = 'world';\n\n// Say it.\nconsole.log(greeting + ', ' + who + '!');\n",
  'src/extra.js': 'export const extra = 1;\n',
};
const v3 = {
  'template.json': manifest('3.0.0'),
  'README.md': '# {{name}}\n\nStart HERE.\nThen go on.\n',
};

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');

describe('reyna init and upgrade from a git template', () => {
  const home = tempDir();
  const repo = templateRepo([
    { tag: 'v1', files: v1 },
    { tag: 'v2', files: v2 },
    { tag: 'v3', files: v3 },
  ]);
  const run = (args: string[], cwd = home) => reyna(args, { cwd, home });

  it('inits at v1, keeps an edit through a clean upgrade to v2', async () => {
    const init = await run(['init', 'app', '--template', `git+file://${repo}#v1`, '--no-install', '--json']);
    expect(init.code, init.stderr).toBe(0);
    const result = JSON.parse(init.stdout);
    expect(result).toMatchObject({
      name: 'app',
      template: { ref: 'v1', version: '1.0.0', commit: git(repo, 'rev-parse', 'v1') },
    });
    const app = join(home, 'app');
    writeFileSync(join(app, 'src/main.js'), read(app, 'src/main.js').replace("'world'", "'Reyna'"));

    const dry = await run(['upgrade', '--to', 'v2', '--dry-run'], app);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Would upgrade from 1.0.0');
    expect(dry.stdout).toMatch(/merged\s+src\/main\.js/);
    expect(existsSync(join(app, 'src/extra.js'))).toBe(false);

    const up = await run(['upgrade', '--to', 'v2', '--json'], app);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).conflicts).toEqual([]);
    expect(read(app, 'src/main.js')).toBe(
      "const greeting = 'hello';\nconst who = 'Reyna';\n\n// Say it.\nconsole.log(greeting + ', ' + who + '!');\n",
    );
    expect(read(app, 'src/extra.js')).toBe('export const extra = 1;\n');
    expect(JSON.parse(read(app, 'reyna.json')).template.commit).toBe(git(repo, 'rev-parse', 'v2'));
  });

  it('stops on a conflict with exit 1, and --continue records the new commit once resolved', async () => {
    const app = join(home, 'app2');
    expect((await run(['init', app, '--template', `${repo}#v2`, '--no-install', '--no-git'])).code).toBe(0);
    writeFileSync(join(app, 'README.md'), '# app2\n\nStart somewhere else.\nThen go on.\n');

    const up = await run(['upgrade'], app);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/left 1 conflict/);
    expect(up.stderr).toMatch(/README\.md/);
    expect(up.stderr).toMatch(/--continue/);
    expect(read(app, 'README.md')).toMatch(
      /<<<<<<< your README.md\n[\s\S]*somewhere else[\s\S]*=======\n[\s\S]*HERE[\s\S]*>>>>>>> template 3\.0\.0/,
    );
    expect(JSON.parse(read(app, 'reyna.json')).template.version).toBe('2.0.0');

    const early = await run(['upgrade', '--continue', '--json'], app);
    expect(early.code).toBe(1);
    expect(JSON.parse(early.stdout).error.code).toBe('E_UPGRADE_CONFLICTS');

    // Dry runs of --continue and --abort say what they would do and change nothing.
    const withMarkers = read(app, 'README.md');
    const dryContinue = await run(['upgrade', '--continue', '--dry-run'], app);
    expect(dryContinue.code, dryContinue.stderr).toBe(0);
    expect(dryContinue.stdout).toContain('Cannot finish yet: 1 conflict(s) left in README.md');
    const dryAbort = await run(['upgrade', '--abort', '--dry-run', '--json'], app);
    expect(dryAbort.code, dryAbort.stderr).toBe(0);
    expect(JSON.parse(dryAbort.stdout)).toMatchObject({
      dryRun: true,
      files: [{ path: 'README.md', action: 'restore' }],
    });
    expect(read(app, 'README.md')).toBe(withMarkers);

    writeFileSync(join(app, 'README.md'), '# app2\n\nStart somewhere HERE.\nThen go on.\n');
    const wouldFinish = await run(['upgrade', '--continue', '--dry-run'], app);
    expect(wouldFinish.code, wouldFinish.stderr).toBe(0);
    expect(wouldFinish.stdout).toMatch(/Would finish the upgrade and record 3\.0\.0 \([0-9a-f]{7}\)/);
    expect(JSON.parse(read(app, 'reyna.json')).template.version).toBe('2.0.0');
    expect(existsSync(join(app, '.reyna/upgrade/state.json'))).toBe(true);

    const done = await run(['upgrade', '--continue'], app);
    expect(done.code, done.stderr).toBe(0);
    const template = JSON.parse(read(app, 'reyna.json')).template;
    expect(template).toMatchObject({ version: '3.0.0', ref: 'v3', commit: git(repo, 'rev-parse', 'v3') });
  });

  it('answers bad input with a code, a hint and the right exit status, also as JSON', async () => {
    const cases: [string[], string, number, string?][] = [
      [['init', 'a', '--template', 'reakt', '--no-install'], 'E_TEMPLATE_NOT_FOUND', 1],
      [['init', 'a', '--template', `${repo}#v9`, '--no-install'], 'E_TEMPLATE_REF_NOT_FOUND', 1],
      [['init', 'a', '--template', `git+file://${home}/missing.git#v1`, '--no-install'], 'E_TEMPLATE_UNREACHABLE', 1],
      [['init', 'app', '--template', 'react', '--no-install'], 'E_TARGET_NOT_EMPTY', 1],
      [['init', 'Bad_Name', '--template', 'react', '--no-install'], 'E_INVALID_NAME', 2],
      [['init', 'a', '--no-install'], 'E_MISSING_INPUT', 2],
      [['init', 'a', '--template', 'react', '--var', 'oops'], 'E_INVALID_INPUT', 2],
      [['init', 'a', '--bogus'], 'E_USAGE', 2],
      [['upgrade'], 'E_NOT_AN_APP', 1],
      [['upgrade', '--continue'], 'E_NOT_AN_APP', 1],
      [['upgrade', '--abort'], 'E_NOT_AN_APP', 1],
      [['upgrade', '--continue'], 'E_NO_UPGRADE_IN_PROGRESS', 1, 'app'],
    ];
    for (const [args, code, status, dir] of cases) {
      const cwd = dir ? join(home, dir) : home;
      const plain = await run(args, cwd);
      expect(plain.code, `${args.join(' ')}: ${plain.stderr}`).toBe(status);
      expect(plain.stderr).toMatch(/Hint: /);
      const json = await run([...args, '--json'], cwd);
      expect(json.code).toBe(status);
      const body = JSON.parse(json.stdout);
      expect(body.error.code, args.join(' ')).toBe(code);
      expect(body.error.hint).toBeTruthy();
    }
    expect(existsSync(join(home, 'a'))).toBe(false);
    // 24 runs of the binary: minutes, not seconds, on a loaded machine.
  }, 180_000);

  it('says which repository could not be fetched, what git said, and what to check', async () => {
    const missing = await run(['init', 'a', '--template', `git+file://${home}/nonexist.git`, '--no-install', '--json']);
    expect(missing.code).toBe(1);
    const local = JSON.parse(missing.stdout).error;
    expect(local.code).toBe('E_TEMPLATE_UNREACHABLE');
    expect(local.message).toBe(
      `Could not fetch the template repository file://${home}/nonexist.git: '${home}/nonexist.git' does not appear to be a git repository`,
    );
    expect(local.hint).toMatch(/Check the URL/);
    expect(local.hint).toMatch(/--offline/);

    // A loopback port that was free a moment ago: nothing listens there.
    const { createServer } = await import('node:net');
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const url = `https://127.0.0.1:${port}/org/repo.git`;
    const closed = await run(['init', 'a', '--template', `${url}#v1`, '--no-install']);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain(
      `Error: Could not fetch the template repository ${url}: unable to access '${url}/'`,
    );
    expect(closed.stderr).toMatch(/Failed to connect to 127\.0\.0\.1 port \d+/);
    expect(closed.stderr).toMatch(/Hint: Check your network connection[^\n]*--offline/);
    expect(existsSync(join(home, 'a'))).toBe(false);
  });

  it('upgrade --to a version a built-in template does not have lists the versions it has', async () => {
    const app = join(home, 'builtin-app');
    expect((await run(['init', app, '--template', 'vanilla', '--no-install', '--no-git'])).code).toBe(0);
    const shipped = JSON.parse(
      readFileSync(join(repoRoot, 'packages/cli/dist/templates/index.json'), 'utf8'),
    ).vanilla.map((v: { version: string }) => v.version);
    const up = await run(['upgrade', '--to', '9.9.9', '--json'], app);
    expect(up.code).toBe(1);
    const { error } = JSON.parse(up.stdout);
    expect(error).toMatchObject({
      code: 'E_TEMPLATE_REF_NOT_FOUND',
      message: 'Built-in template vanilla has no version "9.9.9"',
      details: { ref: '9.9.9', known: shipped },
    });
    expect(error.hint).toContain(`ships vanilla ${shipped.join(', ')}`);
    const same = await run(['upgrade', '--to', `v${shipped.at(-1)}`, '--json'], app);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout).upToDate).toBe(true);
  });

  it('caches git templates under $XDG_CACHE_HOME/reyna/templates and inits from a subdirectory of a repository', async () => {
    // A bare repository whose template lives in templates/web, named as users name such repositories: *.git.
    const inSubdir = Object.fromEntries(Object.entries(v1).map(([path, text]) => [`templates/web/${path}`, text]));
    const monorepo = templateRepo([{ tag: 'v1', files: { 'README.md': '# Many templates\n', ...inSubdir } }]);
    const bare = join(tempDir('reyna-bare-'), 'repo.git');
    git(monorepo, 'clone', '--quiet', '--bare', monorepo, bare);

    const cacheHome = join(home, 'xdg-cache');
    const sub = await reyna(
      ['init', 'sub-app', '--template', `git+file://${bare}/templates/web#v1`, '--no-install', '--no-git', '--json'],
      { cwd: home, home, env: { XDG_CACHE_HOME: cacheHome } },
    );
    expect(sub.code, sub.stderr).toBe(0);
    expect(JSON.parse(sub.stdout).template).toMatchObject({
      source: `file://${bare}`,
      subdir: 'templates/web',
      ref: 'v1',
      version: '1.0.0',
    });
    expect(read(join(home, 'sub-app'), 'README.md')).toBe('# sub-app\n\nStart here.\nThen go on.\n');
    expect(existsSync(join(home, 'sub-app', 'template.json'))).toBe(false);
    const cached = readdirSync(join(cacheHome, 'reyna', 'templates'));
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/^[0-9a-f]{16}\.git$/);
    expect(git(join(cacheHome, 'reyna', 'templates', cached[0] as string), 'rev-parse', 'v1')).toBe(
      git(bare, 'rev-parse', 'v1'),
    );
  });

  it('lists the built-in templates when asked for one that does not exist', async () => {
    const shipped = Object.keys(
      JSON.parse(readFileSync(join(repoRoot, 'packages/cli/dist/templates/index.json'), 'utf8')),
    ).sort();
    expect(shipped).toEqual(expect.arrayContaining(['react', 'vanilla']));
    const unknown = await run(['init', 'a', '--template', 'reakt', '--no-install', '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error).toEqual({
      code: 'E_TEMPLATE_NOT_FOUND',
      message: 'No template "reakt"',
      hint: `Available built-in templates: ${shipped.join(', ')}. A directory or a git URL works too.`,
      details: { available: shipped },
    });
  });

  it('says git is missing when it is not on PATH', async () => {
    const noGit = { PATH: join(home, 'empty-path') };
    const fromGit = await reyna(['init', 'a', '--template', `${repo}#v1`, '--no-install', '--no-git'], {
      cwd: home,
      home,
      env: noGit,
    });
    expect(fromGit.code).toBe(1);
    expect(fromGit.stderr).toContain('Error: git is not installed or not on PATH');
    expect(fromGit.stderr).toMatch(/Hint: Install git/);
    const builtin = await reyna(['init', 'a', '--template', 'vanilla', '--no-install', '--json'], {
      cwd: home,
      home,
      env: noGit,
    });
    expect(builtin.code).toBe(1);
    expect(JSON.parse(builtin.stdout).error).toMatchObject({
      code: 'E_GIT_MISSING',
      hint: expect.stringContaining('--no-git'),
    });
    expect(existsSync(join(home, 'a'))).toBe(false);
  });

  describe('placeholders beyond the name', () => {
    const placeholders = [
      'name',
      { name: 'title', description: 'Page title' },
      { name: 'lang', description: 'Language', default: 'en' },
    ];
    const vars = templateRepo([
      {
        tag: 'v1',
        files: {
          'template.json': JSON.stringify({ name: 'vars', version: '1.0.0', placeholders }),
          'index.html': '<html lang="{{lang}}"><title>{{title}}</title><h1>{{name}}</h1></html>\n',
        },
      },
    ]);

    it('are an E_MISSING_INPUT naming --var when nobody can answer, and take their defaults', async () => {
      const missing = await run(['init', 'vars-a', '--template', `${vars}#v1`, '--no-install', '--json']);
      expect(missing.code).toBe(2);
      expect(JSON.parse(missing.stdout).error).toEqual({
        code: 'E_MISSING_INPUT',
        message: '--var title is required when not run from a terminal',
        hint: 'Pass --var title=<value>',
        details: { flag: '--var title' },
      });
      expect(existsSync(join(home, 'vars-a'))).toBe(false);
      const given = await run(['init', 'vars-a', '--template', `${vars}#v1`, '--no-install', '--var', 'title=Hi']);
      expect(given.code, given.stderr).toBe(0);
      expect(read(join(home, 'vars-a'), 'index.html')).toBe(
        '<html lang="en"><title>Hi</title><h1>vars-a</h1></html>\n',
      );
      expect(JSON.parse(read(join(home, 'vars-a'), 'reyna.json')).template.values).toEqual({
        name: 'vars-a',
        title: 'Hi',
        lang: 'en',
      });
    });

    it('are asked for on a terminal, with their description and default', async () => {
      // util-linux `script` gives reyna a pseudo-terminal for stdin, stdout and stderr.
      const { spawn } = await import('node:child_process');
      const { cleanEnv, bin } = await import('./_reyna.js');
      const command = [process.execPath, bin, 'init', 'vars-tty', '--template', `${vars}#v1`, '--no-install']
        .map((arg) => `'${arg}'`)
        .join(' ');
      const child = spawn('script', ['-qec', `stty cols 120 rows 40; exec ${command}`, '/dev/null'], {
        cwd: home,
        env: { ...cleanEnv(home), TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let screen = '';
      child.stdout.on('data', (chunk) => (screen += chunk));
      const waitFor = async (text: string) => {
        const deadline = Date.now() + 20_000;
        while (!screen.includes(text)) {
          if (Date.now() > deadline) throw new Error(`no "${text}" on the terminal:\n${screen}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      const closed = new Promise((resolve) => child.on('close', resolve));
      await waitFor('Page title');
      child.stdin.write('Hello TTY\r');
      await waitFor('Language');
      expect(screen).toContain('(en)');
      child.stdin.write('\r');
      expect(await closed, screen).toBe(0);
      const { stripVTControlCharacters } = await import('node:util');
      expect(stripVTControlCharacters(screen)).toContain('Created vars-tty');
      expect(read(join(home, 'vars-tty'), 'index.html')).toBe(
        '<html lang="en"><title>Hello TTY</title><h1>vars-tty</h1></html>\n',
      );
    });
  });

  it('leaves no half-written directory when interrupted', async () => {
    // A template whose install never ends: init is interrupted mid-install.
    const slow = templateRepo([
      {
        tag: 'v1',
        files: {
          'package.json':
            '{"name":"slow","private":true,"scripts":{"preinstall":"node -e \\"setTimeout(()=>{},60000)\\""}}\n',
        },
      },
    ]);
    const { spawn } = await import('node:child_process');
    const { cleanEnv, bin } = await import('./_reyna.js');
    const child = spawn(process.execPath, [bin, 'init', 'slow-app', '--template', `${slow}#v1`, '--no-git'], {
      cwd: home,
      env: cleanEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Wait until the app is being assembled, then interrupt as Ctrl-C would.
    const deadline = Date.now() + 20_000;
    while (!readdirSync(home).some((name) => name.startsWith('.reyna-init-slow-app')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted/i);
    expect(readdirSync(home).filter((name) => name.includes('slow-app'))).toEqual([]);
  }, 30_000);
});

describe('reyna init from each built-in template', () => {
  // Inside the repository, so the new apps resolve the workspace's installed dependencies (one shared install).
  const home = tempDir('builtin-', join(repoRoot, '.tmp'));
  for (const template of ['react', 'vanilla']) {
    it(`${template}: init, then npm run build in the new app`, async () => {
      const init = await reyna(['init', `${template}-app`, '--template', template, '--no-install', '--no-git'], {
        cwd: home,
        home,
      });
      expect(init.code, init.stderr).toBe(0);
      const app = join(home, `${template}-app`);
      expect(read(app, 'index.html')).toContain(`${template}-app`);
      expect(read(app, 'index.html')).not.toContain('{{name}}');
      const { execFileSync } = await import('node:child_process');
      execFileSync('npm', ['run', 'build'], { cwd: app, stdio: 'pipe' });
      expect(existsSync(join(app, 'dist/index.html'))).toBe(true);
      expect(read(app, 'dist/index.html')).toContain(`${template}-app`);
    }, 120_000);
  }
});
