#!/usr/bin/env node
// The `reyna` binary. `--version` and the root `--help` are answered here from package.json and the help text
// pre-rendered at build time (scripts/manifest.mjs), because loading oclif alone takes longer than the whole
// answer may. Keep this path free of imports beyond node built-ins: test/base.test.ts checks what it loads.
import { existsSync, readFileSync } from 'node:fs';
import { arch, release } from 'node:os';

const argv = process.argv.slice(2);
const env = process.env;
const truthy = (value) => ['1', 'true', 'y', 'yes'].includes(String(value).toLowerCase());
const fast = argv.length <= 1 && !env.REYNA_NO_FAST_PATH;
const first = argv[0] ?? '';

function read(path) {
  try {
    return readFileSync(new URL(path, import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}

// oclif's platform: 'wsl' inside WSL (but not in a container there), else process.platform.
function platform() {
  if (process.platform !== 'linux') return process.platform;
  const container =
    existsSync('/.dockerenv') ||
    existsSync('/run/.containerenv') ||
    /docker|kubepods/.test(read('file:///proc/self/cgroup') ?? '');
  const wsl =
    release().toLowerCase().includes('microsoft') ||
    (read('file:///proc/version') ?? '').toLowerCase().includes('microsoft') ||
    existsSync('/proc/sys/fs/binfmt_misc/WSLInterop') ||
    existsSync('/run/WSL');
  return wsl && !container ? 'wsl' : 'linux';
}

function userAgent() {
  const pkg = JSON.parse(read('../package.json'));
  const cpu = arch() === 'ia32' ? 'x86' : arch();
  return `${pkg.name}/${pkg.version} ${platform()}-${cpu} node-${process.version}`;
}

function color() {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return !['0', 'false'].includes(env.FORCE_COLOR);
  return process.stdout.isTTY === true && process.stderr.isTTY === true && env.TERM !== 'dumb';
}

process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});

const version = fast && (['--version', '-v'].includes(first) || (first === 'version' && !truthy(env.REYNA_JSON)));
// Missing when only `tsc` has run: oclif renders the help then.
const help =
  fast && !version && ['', '--help', '-h', 'help'].includes(first)
    ? read(color() ? '../dist/help.color.txt' : '../dist/help.txt')
    : undefined;

if (version) {
  process.stdout.write(`${userAgent()}\n`);
} else if (help !== undefined) {
  process.stdout.write(help.replace('%REYNA_USER_AGENT%', userAgent()));
} else {
  // The last resort: a promise rejected with no handler is a bug, and says so (exit 70) instead of Node's dump.
  process.on('unhandledRejection', async (reason) => {
    try {
      const { createColors, shouldColor } = await import('../dist/colors.js');
      const { describeBug, formatError } = await import('../dist/errors.js');
      process.stderr.write(formatError(describeBug(reason), createColors(shouldColor(process.stderr, env))));
    } finally {
      process.exit(70);
    }
  });
  const fastPath =
    !env.REYNA_NO_FAST_PATH &&
    ((first === 'status' && (await fastStatus())) ||
      (first === 'push' && (await fastPush())) ||
      (first === 'build' && (await fastBuild())));
  if (!fastPath) {
    // `reyna build` that needs oclif (a flag the fast path leaves to it) of the app in this directory: Vite starts
    // loading on a thread of its own now, while oclif loads and parses the command line on this one. A build that
    // turns out not to want it (--docker, a bad flag) leaves the thread unused; it does not keep the process alive.
    const elsewhere = ['--docker', '--all', '--help', '-h'];
    if (
      first === 'build' &&
      !argv.some((arg) => elsewhere.includes(arg)) &&
      !truthy(env.REYNA_DOCKER) &&
      !truthy(env.REYNA_ALL) &&
      existsSync('reyna.json')
    ) {
      const { prepareClientBuild } = await import('@reyna/core/build/prepare');
      prepareClientBuild(process.cwd());
    }
    // oclif checks Node against its own engines field (older than Reyna's) as it loads, and loading semver for
    // that costs ~30 ms of every command. Only for that moment: the children commands start do not inherit it.
    const engineCheck = env.OCLIF_DISABLE_ENGINE_WARNING;
    env.OCLIF_DISABLE_ENGINE_WARNING = '1';
    const { execute, settings } = await import('../dist/_oclif.js');
    if (engineCheck === undefined) delete env.OCLIF_DISABLE_ENGINE_WARNING;
    else env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck;
    // Always the compiled commands, even under NODE_ENV=test or development.
    settings.enableAutoTranspile = false;
    await execute({ dir: import.meta.url });
  }
}

// `reyna build` of one app on this machine, without oclif (see src/fast-build.ts); false leaves it to oclif.
async function fastBuild() {
  const { parseBuildArgs, runBuild } = await import('../dist/fast-build.js');
  const args = parseBuildArgs(argv.slice(1), env);
  if (!args) return false;
  await runBuild(args);
  return true;
}

// `reyna status` in its plain forms, without oclif (see src/fast-status.ts); false leaves it to oclif.
async function fastStatus() {
  const { parseStatusArgs, runStatus } = await import('../dist/fast-status.js');
  const args = parseStatusArgs(argv.slice(1), env);
  if (!args) return false;
  await runStatus(args);
  exitWhenWritten();
  return true;
}

// `reyna push --json` in its plain forms, without oclif (see src/fast-push.ts); false leaves it to oclif.
async function fastPush() {
  const { parsePushArgs, runPush } = await import('../dist/fast-push.js');
  const args = parsePushArgs(argv.slice(1), env);
  if (!args) return false;
  await runPush(args);
  exitWhenWritten();
  return true;
}

// Once status or push has answered, all its work is done (the state and the hash cache are written before it
// answers): what a natural exit would add is tearing down a heap holding 10,000-file manifests, ~20 ms. The exit
// waits for stdout and stderr to take what was written to them.
function exitWhenWritten() {
  process.stdout.write('', () => process.stderr.write('', () => process.exit()));
}
