// Ships the built-in templates inside the CLI package: every tagged version (`template/<name>@<semver>`)
// plus the working tree's, each stamped with the commit of this repository that last changed the template
// (`-dirty` when the working tree has uncommitted changes to it), so an app records exactly what it was made
// from and `reyna upgrade` has the base it needs.
// The stamps come from git state, which turbo does not hash: this runs as the uncached `templates` task
// (see turbo.json), before every `build`, never replayed from the cache.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const out = fileURLToPath(new URL('../dist/templates/', import.meta.url));
const git = (...args) =>
  execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const inGit = (() => {
  try {
    return git('rev-parse', '--is-inside-work-tree') === 'true';
  } catch {
    return false;
  }
})();

rmSync(out, { recursive: true, force: true });
const index = {};
for (const name of readdirSync(join(repo, 'templates')).sort()) {
  const src = join(repo, 'templates', name);
  if (!existsSync(join(src, 'template.json'))) continue;
  const versions = [];
  const seen = new Set();
  if (inGit) {
    for (const tag of git('tag', '--list', `template/${name}@*`).split('\n').filter(Boolean)) {
      // The same stamp the working tree gets once it is clean: the template's last change up to the tag.
      const commit = git('log', '-1', '--format=%H', tag, '--', `templates/${name}`) || git('rev-list', '-n', '1', tag);
      const manifest = JSON.parse(git('show', `${commit}:templates/${name}/template.json`));
      const dir = `${name}/${manifest.version}`;
      const dest = join(out, dir);
      mkdirSync(dest, { recursive: true });
      const tar = execFileSync('git', ['archive', '--format=tar', commit, `templates/${name}`], { cwd: repo });
      execFileSync('tar', ['-x', '-C', dest, '--strip-components=2'], { input: tar });
      versions.push({ version: manifest.version, commit, dir, description: manifest.description ?? '' });
      seen.add(manifest.version);
    }
  }
  const manifest = JSON.parse(readFileSync(join(src, 'template.json'), 'utf8'));
  let commit = 'unknown';
  let files;
  if (inGit) {
    commit = git('log', '-1', '--format=%H', '--', `templates/${name}`) || git('rev-parse', 'HEAD');
    // An uncommitted template is not what that commit holds: say so rather than record a lie.
    if (git('status', '--porcelain', '--', `templates/${name}`)) commit += '-dirty';
    files = git('ls-files', '-co', '--exclude-standard', '--', `templates/${name}`).split('\n').filter(Boolean);
  }
  const dir = `${name}/${manifest.version}`;
  const tagged = versions.find((v) => v.version === manifest.version);
  if (!tagged || tagged.commit !== commit) {
    const dest = join(out, dir);
    rmSync(dest, { recursive: true, force: true });
    if (files) {
      for (const file of files) {
        const target = join(dest, file.slice(`templates/${name}/`.length));
        mkdirSync(dirname(target), { recursive: true });
        if (existsSync(join(repo, file))) cpSync(join(repo, file), target);
      }
    } else {
      cpSync(src, dest, { recursive: true, filter: (path) => !/[/\\](node_modules|dist)([/\\]|$)/.test(path) });
    }
    const entry = { version: manifest.version, commit, dir, description: manifest.description ?? '' };
    if (tagged) versions[versions.indexOf(tagged)] = entry;
    else versions.push(entry);
  }
  versions.sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
  index[name] = versions;
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
