import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../_exec.js';
import { isText } from '../_fs.js';

export interface MergeResult {
  data: Buffer;
  conflicts: number;
}

export interface MergeLabels {
  ours: string;
  base: string;
  theirs: string;
}

/** Three-way merge of one text file with `git merge-file`: clean, or with conflict markers. */
export async function mergeText(ours: Buffer, base: Buffer, theirs: Buffer, labels: MergeLabels): Promise<MergeResult> {
  const dir = await mkdtemp(join(tmpdir(), 'reyna-merge-'));
  try {
    const [o, b, t] = [join(dir, 'ours'), join(dir, 'base'), join(dir, 'theirs')];
    await Promise.all([writeFile(o, ours), writeFile(b, base), writeFile(t, theirs)]);
    const result = await run(
      'git',
      ['merge-file', '-p', '-L', labels.ours, '-L', labels.base, '-L', labels.theirs, o, b, t],
      { cwd: dir },
    );
    if (result.exitCode < 0 || result.exitCode > 127) throw new Error(`git merge-file failed: ${result.stderr}`);
    return { data: Buffer.from(result.stdout, 'utf8'), conflicts: result.exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const MARKER = /^(<{7} |={7}$|>{7} )/m;

/** True while a file still holds conflict markers. */
export function hasConflictMarkers(data: Buffer): boolean {
  return isText(data) && MARKER.test(data.toString('utf8'));
}

/** Share of lines two texts have in common, 0..1, for rename detection. */
export function similarity(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return 1;
  if (!isText(a) || !isText(b)) return 0;
  // Blank lines say nothing about where a file came from.
  const lines = (data: Buffer) =>
    data
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
  const linesA = lines(a);
  const linesB = lines(b);
  if (linesA.length === 0 || linesB.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const line of linesA) counts.set(line, (counts.get(line) ?? 0) + 1);
  let shared = 0;
  for (const line of linesB) {
    const n = counts.get(line) ?? 0;
    if (n > 0) {
      shared++;
      counts.set(line, n - 1);
    }
  }
  return (2 * shared) / (linesA.length + linesB.length);
}
