import { access } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { run } from '../_exec.js';

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

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The app's own `tsc`: the TypeScript it pins is the one its code is written for. */
export async function findTsc(appDir: string): Promise<string | undefined> {
  for (let dir = appDir; ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', '.bin', 'tsc');
    if (await exists(bin)) return bin;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The TypeScript projects of an app: the client's and, beside the Worker entry, the Worker's. */
export async function tsProjects(appDir: string, workerEntry: string): Promise<string[]> {
  const candidates = [join(appDir, 'tsconfig.json'), join(dirname(join(appDir, workerEntry)), 'tsconfig.json')];
  const found: string[] = [];
  for (const path of new Set(candidates)) if (await exists(path)) found.push(path);
  return found;
}

/** Type-checks each project with `tsc --noEmit`; returns every error with its place. */
export async function typecheck(
  appDir: string,
  workerEntry: string,
  options: { signal?: AbortSignal; log: (text: string) => void },
): Promise<{ ran: boolean; diagnostics: Diagnostic[] }> {
  const tsc = await findTsc(appDir);
  const projects = await tsProjects(appDir, workerEntry);
  if (!tsc || projects.length === 0) return { ran: false, diagnostics: [] };
  const results = await Promise.all(
    projects.map((project) =>
      run(tsc, ['-p', project, '--noEmit', '--pretty', 'false'], {
        cwd: appDir,
        signal: options.signal,
        timeout: 5 * 60_000,
      }).then((result) => ({ project, result })),
    ),
  );
  const diagnostics: Diagnostic[] = [];
  for (const { project, result } of results) {
    const output = result.stdout + result.stderr;
    if (output.trim()) options.log(output.trimEnd());
    const found = parseTscOutput(output, dirname(project), appDir);
    if (result.exitCode !== 0 && found.length === 0 && !result.aborted) {
      // tsc failed without a diagnostic we can place (a broken tsconfig, say): still a failure.
      diagnostics.push({ file: relative(appDir, project), line: 1, column: 1, code: 'TSC', message: output.trim() });
    }
    diagnostics.push(...found);
  }
  return { ran: true, diagnostics };
}
