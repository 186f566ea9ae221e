import { constants } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Copies the files and directories under `from` to `to` (which must not exist yet), many files at a time. Each
 * file is a reflink where the file system has them and a kernel-side copy otherwise: for PGlite's ~1,000-file data
 * dir several times faster than unpacking an archive, or than fs.cp, which copies one file after another.
 */
export async function copyTree(from: string, to: string, parallel = 32): Promise<number> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  const rel = (e: (typeof entries)[number]) => relative(from, join(e.parentPath, e.name));
  await mkdir(to, { recursive: true });
  // Parents sort before their children, so each mkdir finds its parent made.
  for (const dir of entries
    .filter((e) => e.isDirectory())
    .map(rel)
    .sort())
    await mkdir(join(to, dir));
  const files = entries.filter((e) => e.isFile()).map(rel);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++] as string;
      await copyFile(join(from, file), join(to, file), constants.COPYFILE_FICLONE);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, files.length) }, worker));
  return files.length;
}
