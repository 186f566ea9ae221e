import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathExists } from '../../_fs.js';
import { assertGitAvailable, git, hasDirectory, listTags, readCommitTree, resolveCommit } from '../../_git.js';
import type { Logger } from '../../context.js';
import { ReynaError } from '../../errors.js';
import { readManifest } from '../manifest.js';
import { newestTag } from '../semver.js';
import type { FetchOptions, TemplateSnapshot, TemplateSource } from '../source.js';
import type { TemplateSpec } from '../spec.js';

type GitSpec = Extract<TemplateSpec, { kind: 'git' }>;

const PASS_ENV =
  /^(PATH|HOME|USER|TMPDIR|SSH_AUTH_SOCK|GIT_SSL_CAINFO|GIT_SSL_NO_VERIFY|SSL_CERT_FILE|SSL_CERT_DIR|XDG_CONFIG_HOME|(https?|no|all)_proxy|(HTTPS?|NO|ALL)_PROXY)$/;

export interface GitSourceOptions {
  /** `$XDG_CACHE_HOME/reyna/templates`: one bare mirror per repository URL. */
  cacheDir: string;
  env: Record<string, string | undefined>;
  logger: Logger;
}

// git's generic closing advice, which says nothing about this failure.
const BOILERPLATE = [
  /^Cloning into/,
  /^Could not read from remote repository\.?$/,
  /^Please make sure you have the correct access rights/,
  /^and the repository exists\.?$/,
];

/** The line of git's stderr that says what went wrong (`'…' does not appear to be a git repository`). */
export function gitMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !BOILERPLATE.some((re) => re.test(line.replace(/^(fatal|error|remote):\s*/, ''))));
  // `remote: Repository not found.` is the clearest a host gets; else git's own first fatal/error line.
  const line =
    lines.find((l) => /^remote:.*not found/i.test(l)) ??
    lines.find((l) => /^(fatal|error):/.test(l)) ??
    lines[0] ??
    text.trim();
  return line.replace(/^(fatal|error|remote):\s*/, '').replace(/\.$/, '');
}

/** What a user can do about a failed fetch, by what git said. */
function unreachableHint(said: string): string {
  const offline = 'A template fetched before works with --offline.';
  if (
    /could not resolve host|failed to connect|couldn't connect|connection (refused|timed out)|timed out|network is unreachable|proxy/i.test(
      said,
    )
  ) {
    return `Check your network connection (and proxy settings), and that the host in the URL is right. ${offline}`;
  }
  if (/authentication|could not read (username|password)|permission denied|access denied|403/i.test(said)) {
    return `Check your credentials for this host (a git credential helper, an SSH key, or a token in the URL). ${offline}`;
  }
  return `Check the URL: it must name a git repository you can clone (try \`git ls-remote <url>\`). ${offline}`;
}

/** Templates in any git repository, fetched once into a cache and usable offline afterwards. */
export function gitSource(options: GitSourceOptions): TemplateSource<GitSpec> {
  // Never let git stop to ask for a password (a CI run would hang); pass on only what fetching needs.
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const [key, value] of Object.entries(options.env)) {
    if (value !== undefined && PASS_ENV.test(key)) env[key] = value;
  }
  const cachePath = (url: string) =>
    join(options.cacheDir, `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);

  async function update(gitDir: string, url: string): Promise<void> {
    await (await git(gitDir))
      .env(env)
      .fetch(['--quiet', '--prune', '--tags', '--force', url, '+refs/heads/*:refs/heads/*']);
  }

  async function ensureRepo(spec: GitSpec, fetchOptions: FetchOptions): Promise<string> {
    await assertGitAvailable('/', env);
    const gitDir = cachePath(spec.url);
    if (await pathExists(gitDir)) {
      if (fetchOptions.offline) return gitDir;
      if (fetchOptions.preferOffline && (await resolveCommit(gitDir, spec.ref ?? 'HEAD'))) return gitDir;
      try {
        await update(gitDir, spec.url);
      } catch (error) {
        if (await resolveCommit(gitDir, spec.ref ?? 'HEAD')) {
          options.logger.warn(`Could not update ${spec.url} (${gitMessage(error)}); using the cached copy.`);
          return gitDir;
        }
        throw unreachable(spec.url, error);
      }
      return gitDir;
    }
    if (fetchOptions.offline) {
      throw new ReynaError('E_TEMPLATE_NOT_CACHED', `${spec.url} is not in the template cache and --offline is set`, {
        hint: 'Run the command once without --offline to cache the template.',
      });
    }
    await mkdir(options.cacheDir, { recursive: true });
    const tmp = `${gitDir}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await (await git(options.cacheDir)).env(env).clone(spec.url, tmp, ['--bare', '--quiet']);
      await rename(tmp, gitDir);
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      if (error instanceof ReynaError) throw error;
      throw unreachable(spec.url, error);
    }
    return gitDir;
  }

  function unreachable(url: string, error: unknown): ReynaError {
    const said = gitMessage(error);
    return new ReynaError('E_TEMPLATE_UNREACHABLE', `Could not fetch the template repository ${url}: ${said}`, {
      hint: unreachableHint(said),
      details: { url, git: said },
    });
  }

  async function snapshotAt(spec: GitSpec, gitDir: string, commit: string, ref?: string): Promise<TemplateSnapshot> {
    if (spec.subdir && !(await hasDirectory(gitDir, commit, spec.subdir))) {
      throw new ReynaError(
        'E_TEMPLATE_SUBDIR_NOT_FOUND',
        `${spec.url} has no directory "${spec.subdir}" at ${ref ?? commit}`,
        {
          hint: 'Check the path after the repository URL.',
        },
      );
    }
    const files = await readCommitTree(gitDir, commit, spec.subdir);
    const manifest = readManifest(files, `${spec.url}${spec.subdir ? `/${spec.subdir}` : ''}`);
    return { source: spec.url, subdir: spec.subdir, ref, commit, version: manifest?.version, manifest, files };
  }

  async function refNotFound(spec: GitSpec, gitDir: string, ref: string): Promise<ReynaError> {
    const tags = await listTags(gitDir);
    const branches = (await (await git(gitDir)).env(env).branchLocal()).all;
    const known = [...branches, ...tags].slice(0, 12);
    return new ReynaError('E_TEMPLATE_REF_NOT_FOUND', `${spec.url} has no branch, tag or commit "${ref}"`, {
      hint: known.length ? `Known refs: ${known.join(', ')}.` : 'The repository has no branches or tags yet.',
      details: { ref, known },
    });
  }

  return {
    async fetch(spec, fetchOptions) {
      const gitDir = await ensureRepo(spec, fetchOptions);
      const ref = spec.ref ?? 'HEAD';
      const commit = await resolveCommit(gitDir, ref);
      if (!commit) throw await refNotFound(spec, gitDir, ref);
      return snapshotAt(spec, gitDir, commit, spec.ref);
    },
    async fetchExact(spec, at, fetchOptions) {
      if (!at.commit) {
        throw new ReynaError(
          'E_UPGRADE_BASE_MISSING',
          'reyna.json does not record the template commit this app was made from',
          {
            hint: 'Add template.commit to reyna.json (the commit of the template you started from), then run upgrade again.',
          },
        );
      }
      const gitDir = await ensureRepo({ ...spec, ref: at.commit }, { ...fetchOptions, preferOffline: true });
      const commit = await resolveCommit(gitDir, at.commit);
      if (!commit) throw await refNotFound(spec, gitDir, at.commit);
      return snapshotAt(spec, gitDir, commit, spec.ref);
    },
    async latestRef(spec, fetchOptions) {
      const gitDir = await ensureRepo({ ...spec, ref: undefined }, fetchOptions);
      return newestTag(await listTags(gitDir), spec.subdir ? basename(spec.subdir) : undefined);
    },
  };
}
