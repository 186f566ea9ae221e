import type { SimpleGit } from 'simple-git';
import { run, runBuffer } from './_exec.js';
import type { FileTree } from './_fs.js';
import { ReynaError } from './errors.js';

/** The one place that talks to git. simple-git for porcelain, raw `git` for bytes it would mangle. */
export async function git(cwd: string): Promise<SimpleGit> {
  const { simpleGit } = await import('simple-git');
  return simpleGit({ baseDir: cwd, binary: 'git', maxConcurrentProcesses: 4 });
}

export async function assertGitAvailable(cwd: string, env?: Record<string, string | undefined>): Promise<void> {
  try {
    await run('git', ['--version'], { cwd, env });
  } catch (error) {
    if (error instanceof ReynaError && error.code === 'E_COMMAND_NOT_FOUND') {
      throw new ReynaError('E_GIT_MISSING', 'git is not installed or not on PATH', {
        hint: 'Install git (`sudo apt-get install git`, `brew install git`), or pass --no-git for a built-in template.',
      });
    }
    throw error;
  }
}

/** Resolves a ref to a commit id, or undefined when the repository has no such ref. */
export async function resolveCommit(gitDir: string, ref: string): Promise<string | undefined> {
  const result = await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: gitDir });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** Reads the tree of `commit` below `subdir` into memory, with executable bits. */
export async function readCommitTree(gitDir: string, commit: string, subdir: string | undefined): Promise<FileTree> {
  const treeish = subdir ? `${commit}:${subdir}` : commit;
  const listing = await run('git', ['ls-tree', '-r', '-z', treeish], { cwd: gitDir });
  if (listing.exitCode !== 0) throw new Error(`git ls-tree ${treeish}: ${listing.stderr}`);
  const entries = listing.stdout
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta = '', path = ''] = line.split('\t');
      const [mode = '', type = '', hash = ''] = meta.split(' ');
      return { mode, type, hash, path };
    })
    .filter((entry) => entry.type === 'blob' && entry.mode !== '120000');
  const tree: FileTree = new Map();
  if (entries.length === 0) return tree;
  // One `cat-file --batch` for the whole tree instead of a process per file.
  const out = await runBuffer('git', ['cat-file', '--batch'], {
    cwd: gitDir,
    input: `${entries.map((entry) => entry.hash).join('\n')}\n`,
  });
  let offset = 0;
  for (const entry of entries) {
    const headerEnd = out.indexOf(10, offset);
    const size = Number(out.subarray(offset, headerEnd).toString().split(' ')[2]);
    const start = headerEnd + 1;
    tree.set(entry.path, {
      data: Buffer.from(out.subarray(start, start + size)),
      mode: entry.mode === '100755' ? 0o755 : 0o644,
    });
    offset = start + size + 1;
  }
  return tree;
}

/** Does `subdir` exist as a directory at `commit`? */
export async function hasDirectory(gitDir: string, commit: string, subdir: string): Promise<boolean> {
  const result = await run('git', ['cat-file', '-t', `${commit}:${subdir}`], { cwd: gitDir });
  return result.exitCode === 0 && result.stdout.trim() === 'tree';
}

/** Tags of the repository, newest semver first (tags that are not semver come last). */
export async function listTags(gitDir: string): Promise<string[]> {
  const result = await run('git', ['tag', '--list'], { cwd: gitDir });
  return result.stdout.split('\n').filter(Boolean);
}
