// The edge's workerd processes, written down in its directory. A server that stops normally stops them itself;
// one that is killed (SIGKILL, the OOM killer, a crash in native code) cannot, and its workerd would keep
// running with nobody to talk to, holding memory, for good. The next start on the same data dir finds them here
// and stops them. Linux only (/proc): elsewhere nothing is written and nothing is stopped.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A workerd this server started: its pid, and when it started (which tells it from a later process of that pid). */
export interface RuntimeRecord {
  pid: number;
  /** /proc/<pid>/stat's starttime: clock ticks after boot. */
  start: string;
}

interface RecordFile {
  /** The server that started them. */
  owner: number;
  runtimes: RuntimeRecord[];
}

const FILE = 'runtimes.json';

export interface ProcStat {
  comm: string;
  /** R, S, D, Z (a zombie: dead, not yet reaped), … */
  state: string;
  ppid: number;
  start: string;
}

/** What /proc/<pid>/stat says of a process, or undefined when there is none (or no /proc). */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid … starttime …": comm may hold spaces and parentheses, so fields count from its end.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return {
    comm: text.slice(text.indexOf('(') + 1, close),
    state: fields[0] ?? '',
    ppid: Number(fields[1]),
    start: fields[19] ?? '',
  };
}

const linux = process.platform === 'linux';

/** The workerd processes whose parent is this process. */
async function ownRuntimes(): Promise<RuntimeRecord[]> {
  const pids = new Set<number>();
  // Each thread lists the children it started: Node's spawn runs on the main thread, but ask them all.
  for (const task of await readdir('/proc/self/task').catch(() => [] as string[])) {
    const text = await readFile(`/proc/self/task/${task}/children`, 'utf8').catch(() => '');
    for (const pid of text.split(' ')) if (pid.trim()) pids.add(Number(pid));
  }
  const out: RuntimeRecord[] = [];
  for (const pid of pids) {
    const stat = procStat(pid);
    if (stat?.comm === 'workerd') out.push({ pid, start: stat.start });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** Writes down the workerd processes this server runs now (after each start of one). */
export async function recordRuntimes(dir: string): Promise<void> {
  if (!linux) return;
  const file: RecordFile = { owner: process.pid, runtimes: await ownRuntimes() };
  // Temp + rename: a reader never sees half a list. Not fsynced: after a power loss no process is left anyway.
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${FILE}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, `${JSON.stringify(file)}\n`);
  await rename(tmp, join(dir, FILE));
}

/** Forgets them (a clean stop, after they were stopped). */
export function forgetRuntimes(dir: string): void {
  rmSync(join(dir, FILE), { force: true });
}

/**
 * Stops the workerd processes an earlier server on this dir wrote down and left behind: each one still running
 * (same pid, same start time, still workerd) whose parent is no longer that server. Answers their pids.
 */
export function reapRuntimes(dir: string): number[] {
  if (!linux) return [];
  let file: RecordFile;
  try {
    file = JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as RecordFile;
    if (!Array.isArray(file?.runtimes)) return [];
  } catch {
    return [];
  }
  const stopped: number[] = [];
  for (const r of file.runtimes) {
    if (!Number.isInteger(r?.pid) || r.pid <= 1) continue;
    const stat = procStat(r.pid);
    if (stat?.comm !== 'workerd' || stat.start !== r.start) continue;
    // Its server still runs it (another server on this dir, started first): not ours to stop.
    if (stat.ppid === file.owner && file.owner !== process.pid) continue;
    try {
      process.kill(r.pid, 'SIGKILL');
      stopped.push(r.pid);
    } catch {
      // Gone meanwhile, or not ours to signal.
    }
  }
  return stopped;
}
