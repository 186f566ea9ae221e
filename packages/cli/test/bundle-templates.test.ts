// The commit stamps of the built-in templates: right in the built CLI, right from the script that writes them,
// and never replayed by turbo from a cache that does not know about git state.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, repoRoot, tempDir } from './_reyna.js';

interface Entry {
  version: string;
  commit: string;
  dir: string;
}
type Index = Record<string, Entry[]>;

const SCRIPT = 'packages/cli/scripts/bundle-templates.mjs';
const readIndex = (root: string): Index =>
  JSON.parse(readFileSync(join(root, 'packages/cli/dist/templates/index.json'), 'utf8'));

describe('built-in template stamps', () => {
  it('are written by an uncached task that every build runs first, outside the cached outputs', () => {
    const dry = JSON.parse(
      execFileSync('npx', ['turbo', 'run', 'build', '--filter=@reyna/cli', '--dry=json'], {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as {
      tasks: {
        taskId: string;
        dependencies: string[];
        resolvedTaskDefinition: { cache: boolean; outputs: string[] };
      }[];
    };
    const task = (id: string) => dry.tasks.find((t) => t.taskId === id);
    const build = task('@reyna/cli#build');
    const templates = task('@reyna/cli#templates');
    expect(build?.dependencies).toContain('@reyna/cli#templates');
    expect(templates?.resolvedTaskDefinition.cache).toBe(false);
    expect(build?.resolvedTaskDefinition.outputs).toContain('!dist/templates/**');
    const scripts = JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')).scripts;
    expect(scripts.templates).toContain('bundle-templates.mjs');
    expect(scripts.build).not.toContain('bundle-templates');
  });

  it("in the built CLI, name each template's last commit, dirty only when it has uncommitted changes", () => {
    const index = readIndex(repoRoot);
    const names = Object.keys(index).sort();
    expect(names).toEqual(expect.arrayContaining(['react', 'vanilla']));
    for (const name of names) {
      const versions = index[name] as Entry[];
      const manifest = JSON.parse(readFileSync(join(repoRoot, 'templates', name, 'template.json'), 'utf8'));
      const current = versions.find((v) => v.version === manifest.version);
      const last = git(repoRoot, 'log', '-1', '--format=%H', '--', `templates/${name}`);
      const dirty = git(repoRoot, 'status', '--porcelain', '--', `templates/${name}`) !== '';
      expect(current?.commit, `${name}: run \`npm run build\` first`).toBe(dirty ? `${last}-dirty` : last);
      const tags = git(repoRoot, 'tag', '--list', `template/${name}@*`).split('\n').filter(Boolean);
      for (const tag of tags) {
        const version = tag.slice(tag.indexOf('@') + 1);
        expect(versions.map((v) => v.version)).toContain(version);
      }
    }
  });

  it('follow commits and tags: dirty, then committed, then a tagged version beside the next one', () => {
    // A small repository laid out like this one, with the real script in it.
    const repo = tempDir('reyna-stamp-');
    mkdirSync(join(repo, dirname(SCRIPT)), { recursive: true });
    copyFileSync(join(repoRoot, SCRIPT), join(repo, SCRIPT));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), text);
    };
    const commit = (message: string) => {
      git(repo, 'add', '--all');
      git(repo, 'commit', '--quiet', '-m', message);
      return git(repo, 'rev-parse', 'HEAD');
    };
    const bundle = () => {
      execFileSync(process.execPath, [join(repo, SCRIPT)], { cwd: repo, stdio: 'pipe' });
      return readIndex(repo).web as Entry[];
    };
    const manifest = (version: string) => JSON.stringify({ name: 'web', version, placeholders: ['name'] });
    git(repo, 'init', '--quiet', '--initial-branch=main');
    write('templates/web/template.json', manifest('1.0.0'));
    write('templates/web/index.html', '<h1>{{name}}</h1>\n');
    const first = commit('web 1.0.0');
    write('README.md', 'elsewhere\n');
    commit('an unrelated change');
    expect(bundle()).toEqual([{ version: '1.0.0', commit: first, dir: 'web/1.0.0', description: '' }]);

    write('templates/web/index.html', '<h1>{{name}}!</h1>\n');
    expect(bundle()[0]?.commit).toBe(`${first}-dirty`);
    const second = commit('web: louder');
    expect(bundle()[0]?.commit).toBe(second);

    write('README.md', 'elsewhere, again\n');
    git(repo, 'tag', 'template/web@1.0.0', commit('another unrelated change'));
    write('templates/web/template.json', manifest('1.1.0'));
    write('templates/web/index.html', '<h1>{{name}}, 1.1</h1>\n');
    const third = commit('web 1.1.0');
    const versions = bundle();
    expect(versions.map(({ version, commit }) => [version, commit])).toEqual([
      ['1.0.0', second],
      ['1.1.0', third],
    ]);
    const shipped = join(repo, 'packages/cli/dist/templates');
    expect(readFileSync(join(shipped, 'web/1.0.0/index.html'), 'utf8')).toBe('<h1>{{name}}!</h1>\n');
    expect(readFileSync(join(shipped, 'web/1.1.0/index.html'), 'utf8')).toBe('<h1>{{name}}, 1.1</h1>\n');
    expect(existsSync(join(shipped, 'web/1.0.0/README.md'))).toBe(false);
  });
});
