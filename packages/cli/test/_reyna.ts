// Spawns the built `reyna` binary as a user would (build it first: `npm run build`).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const bin = join(repoRoot, 'packages/cli/bin/reyna.cjs');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The machine's environment minus anything that would change reyna's behaviour, plus a private home. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(REYNA_|CI$|NODE_ENV$|FORCE_COLOR$|NO_COLOR$|XDG_|VITEST|npm_)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@localhost',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@localhost',
    ...extra,
  };
}

export function reyna(
  args: string[],
  options: { cwd: string; home: string; env?: Record<string, string>; node?: string[] },
): Promise<Ran> {
  const child = spawn(process.execPath, [...(options.node ?? []), bin, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.home, options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A `build.command` script (CommonJS) that writes the smallest whole build: a page and a Worker. */
export const MINIMAL_BUILD = `const fs = require('node:fs');
fs.mkdirSync('dist/client', { recursive: true }); fs.mkdirSync('dist/worker', { recursive: true });
fs.writeFileSync('dist/client/index.html', '<!doctype html><title>x</title>');
fs.writeFileSync('dist/worker/index.js', 'export default { fetch() { return new Response("ok"); } };');
`;

/** Whether a process with this pid is still there. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function tempDir(prefix = 'reyna-e2e-', parent = tmpdir()): string {
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, prefix));
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: cleanEnv(cwd), encoding: 'utf8' }).trim();
}

/** A throwaway git repository holding a template: one commit and tag per version; a null file is deleted. */
export function templateRepo(versions: { tag: string; files: Record<string, string | null> }[]): string {
  const repo = tempDir('reyna-tpl-');
  git(repo, 'init', '--quiet', '--initial-branch=main');
  for (const { tag, files } of versions) {
    for (const [path, content] of Object.entries(files)) {
      const full = join(repo, path);
      if (content === null) execFileSync('rm', ['-f', full]);
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    git(repo, 'add', '--all');
    git(repo, 'commit', '--quiet', '-m', tag);
    git(repo, 'tag', tag);
  }
  return repo;
}
