import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@localhost',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@localhost',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

export function tempDir(prefix = 'reyna-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A throwaway git repository holding a template, one commit and tag per version; files set to null are deleted. */
export function templateRepo(
  versions: { tag: string; files: Record<string, string | null> }[],
  options: { subdir?: string; executable?: string[] } = {},
): string {
  const subdir = options.subdir ?? '';
  const repo = tempDir('reyna-tpl-');
  git(repo, 'init', '--quiet', '--initial-branch=main');
  for (const { tag, files } of versions) {
    for (const [path, content] of Object.entries(files)) {
      const full = join(repo, subdir, path);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content, { mode: options.executable?.includes(path) ? 0o755 : 0o644 });
      }
    }
    git(repo, 'add', '--all');
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', tag);
    git(repo, 'tag', tag);
  }
  return repo;
}

export const manifest = (version: string) =>
  JSON.stringify({ name: 'tpl', description: 'test', version, placeholders: ['name'] });
