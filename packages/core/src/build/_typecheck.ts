import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { run } from '../_exec.js';
import { pathExists } from '../_fs.js';

/**
 * What a passing check read: every file tsc loaded (with size and mtime) and every directory under the project
 * (with its entries, so a new file shows). When none of it changed, the check would pass again and is skipped,
 * as `tsc -b` skips an up-to-date project, but without writing .tsbuildinfo files into the app's sources.
 */
interface CheckedProject {
  key: string;
  files: Record<string, [number, number]>;
  dirs: Record<string, string>;
}
type CheckCache = Record<string, CheckedProject>;

const NOT_SOURCES = new Set(['node_modules', '.git', '.reyna', 'dist', '.turbo']);

async function dirSignatures(root: string, out: Record<string, string> = {}): Promise<Record<string, string>> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  out[root] = entries
    .map((e) => e.name)
    .sort()
    .join('/');
  for (const entry of entries) {
    if (entry.isDirectory() && !NOT_SOURCES.has(entry.name)) await dirSignatures(join(root, entry.name), out);
  }
  return out;
}

async function fileStamps(paths: string[]): Promise<Record<string, [number, number]>> {
  const out: Record<string, [number, number]> = {};
  await Promise.all(
    paths.map(async (path) => {
      const info = await stat(path).catch(() => undefined);
      out[path] = info ? [info.size, info.mtimeMs] : [-1, -1];
    }),
  );
  return out;
}

async function projectKey(tsc: string, project: string, appDir: string): Promise<string> {
  const hash = createHash('sha256');
  const tscInfo = await stat(tsc).catch(() => undefined);
  hash.update(`${tsc}\0${tscInfo?.mtimeMs ?? 0}\0`);
  for (const file of [project, join(appDir, 'package.json'), join(appDir, 'package-lock.json')]) {
    hash.update(await readFile(file).catch(() => Buffer.alloc(0)));
    hash.update('\0');
  }
  hash.update(JSON.stringify(await dirSignatures(join(appDir, 'node_modules', '@types'))));
  return hash.digest('hex');
}

async function upToDate(entry: CheckedProject | undefined, key: string, project: string): Promise<boolean> {
  if (!entry || entry.key !== key) return false;
  const files = await fileStamps(Object.keys(entry.files));
  for (const [path, [size, mtime]] of Object.entries(entry.files)) {
    const now = files[path] as [number, number];
    if (now[0] !== size || now[1] !== mtime) return false;
  }
  return JSON.stringify(await dirSignatures(dirname(project))) === JSON.stringify(entry.dirs);
}

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

/** `src/App.tsx(3,7): error TS2322: Type 'string' is not assignable to type 'number'.` */
const LINE = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;

export function parseTscOutput(output: string, projectDir: string, appDir: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    if (isAbsolute(line.trim()) && !line.includes('): error ')) continue; // --listFiles
    const match = LINE.exec(line.trimEnd());
    if (!match) {
      // tsc continues a long message on indented lines.
      const last = found.at(-1);
      if (last && /^\s+\S/.test(line)) last.message += ` ${line.trim()}`;
      continue;
    }
    const [, file, row, col, code, message] = match as unknown as [string, string, string, string, string, string];
    found.push({
      file: relative(appDir, resolve(projectDir, file)),
      line: Number(row),
      column: Number(col),
      code,
      message,
    });
  }
  return found;
}

/** The app's own `tsc`: the TypeScript it pins is the one its code is written for. */
export async function findTsc(appDir: string): Promise<string | undefined> {
  for (let dir = appDir; ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', '.bin', 'tsc');
    if (await pathExists(bin)) return bin;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The TypeScript projects of an app: the client's and, beside the Worker entry, the Worker's. */
export async function tsProjects(appDir: string, workerEntry: string): Promise<string[]> {
  const candidates = [join(appDir, 'tsconfig.json'), join(dirname(join(appDir, workerEntry)), 'tsconfig.json')];
  const found: string[] = [];
  for (const path of new Set(candidates)) if (await pathExists(path)) found.push(path);
  return found;
}

export interface TypecheckResult {
  ran: boolean;
  /** Projects skipped because nothing they read changed since they last passed. */
  upToDate: number;
  diagnostics: Diagnostic[];
}

/**
 * Type-checks each project with `tsc --noEmit`; returns every error with its place. A project that passed and
 * whose inputs are unchanged is not checked again (the record is in `.reyna/cache/typecheck.json`).
 */
export async function typecheck(
  appDir: string,
  workerEntry: string,
  options: { signal?: AbortSignal; log: (text: string) => void },
): Promise<TypecheckResult> {
  const tsc = await findTsc(appDir);
  const projects = await tsProjects(appDir, workerEntry);
  if (!tsc || projects.length === 0) return { ran: false, upToDate: 0, diagnostics: [] };
  const cacheFile = join(appDir, '.reyna', 'cache', 'typecheck.json');
  const cache: CheckCache = JSON.parse(await readFile(cacheFile, 'utf8').catch(() => '{}'));
  let skipped = 0;
  const results = await Promise.all(
    projects.map(async (project) => {
      const key = await projectKey(tsc, project, appDir);
      if (await upToDate(cache[project], key, project)) {
        skipped++;
        return undefined;
      }
      const result = await run(tsc, ['-p', project, '--noEmit', '--pretty', 'false', '--listFiles'], {
        cwd: appDir,
        signal: options.signal,
        timeout: 5 * 60_000,
      });
      return { project, key, result };
    }),
  );
  const diagnostics: Diagnostic[] = [];
  for (const ran of results) {
    if (!ran) continue;
    const { project, key, result } = ran;
    const output = result.stdout + result.stderr;
    const found = parseTscOutput(output, dirname(project), appDir);
    const read = output.split('\n').filter((line) => isAbsolute(line.trim()) && !line.includes('): error '));
    const shown = output
      .split('\n')
      .filter((line) => !read.includes(line))
      .join('\n')
      .trimEnd();
    if (shown) options.log(shown);
    if (result.exitCode === 0 && found.length === 0) {
      cache[project] = {
        key,
        files: await fileStamps(read.map((l) => l.trim())),
        dirs: await dirSignatures(dirname(project)),
      };
    } else delete cache[project];
    if (result.exitCode !== 0 && found.length === 0 && !result.aborted) {
      // tsc failed without a diagnostic we can place (a broken tsconfig, say): still a failure.
      diagnostics.push({ file: relative(appDir, project), line: 1, column: 1, code: 'TSC', message: output.trim() });
    }
    diagnostics.push(...found);
  }
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(cache));
  return { ran: true, upToDate: skipped, diagnostics };
}
