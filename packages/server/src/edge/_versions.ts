// An edge version: the static files and Worker modules one deployment serves, written out of the BlobStore into
// `<edge>/versions/<versionId>/` so workerd can read them. The id is a digest of the content, so a no-change
// redeploy (or the same build on a second app: the APP_ID is a runtime binding) reuses the directory.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../blob-store.js';
import { ApiError } from '../errors.js';

export interface EdgeVersionSpec {
  files: Record<string, { sha256: string; size: number }>;
  modules: Record<string, { sha256: string; size: number }>;
  mainModule: string;
  spa: boolean;
  runWorkerFirst: string[];
  compatibilityDate: string;
  compatibilityFlags: string[];
}

const VERSION_FILE = 'version.json';

function canonical(spec: EdgeVersionSpec): EdgeVersionSpec {
  const sorted = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    files: sorted(spec.files),
    modules: sorted(spec.modules),
    mainModule: spec.mainModule,
    spa: spec.spa,
    runWorkerFirst: spec.runWorkerFirst,
    compatibilityDate: spec.compatibilityDate,
    compatibilityFlags: spec.compatibilityFlags,
  };
}

export function versionIdOf(spec: EdgeVersionSpec): string {
  return `ver-${createHash('sha256')
    .update(JSON.stringify(canonical(spec)))
    .digest('hex')
    .slice(0, 24)}`;
}

export const versionDir = (root: string, versionId: string) => join(root, 'versions', versionId);
export const assetsDir = (dir: string) => join(dir, 'assets');
export const modulesDir = (dir: string) => join(dir, 'modules');

export async function readVersion(root: string, versionId: string): Promise<EdgeVersionSpec | undefined> {
  try {
    return JSON.parse(await readFile(join(versionDir(root, versionId), VERSION_FILE), 'utf8')) as EdgeVersionSpec;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Served path `/a/b.js` → `a/b.js` (paths were checked by the route: no `..`, `\`, NUL or empty segments). */
const relative = (path: string) => path.replace(/^\/+/, '');

/** sha256 → a file holding those bytes in an already materialised version (for hard links). */
async function knownFiles(root: string, versionIds: string[]): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  for (const id of versionIds) {
    const spec = await readVersion(root, id).catch(() => undefined);
    if (!spec) continue;
    const dir = versionDir(root, id);
    for (const [path, f] of Object.entries(spec.files)) known.set(f.sha256, join(assetsDir(dir), relative(path)));
    for (const [name, f] of Object.entries(spec.modules)) known.set(f.sha256, join(modulesDir(dir), name));
  }
  return known;
}

/**
 * Writes a version's files into a staging directory, then renames it into place: a version directory is complete
 * or absent. Bytes already in one of `previous` (version ids, e.g. what the app serves now) are hard-linked from
 * there, the rest come from the BlobStore. Returns its directory. An existing one is reused.
 */
export async function materialise(
  root: string,
  blobs: BlobStore,
  spec: EdgeVersionSpec,
  previous: string[] = [],
): Promise<{ versionId: string; dir: string; reused: boolean }> {
  const versionId = versionIdOf(spec);
  const dir = versionDir(root, versionId);
  if (await stat(join(dir, VERSION_FILE)).catch(() => undefined)) return { versionId, dir, reused: true };
  const staging = join(root, 'versions', `.staging-${versionId}-${randomBytes(4).toString('hex')}`);
  try {
    const jobs: { sha256: string; size: number; to: string }[] = [
      ...Object.entries(spec.files).map(([path, f]) => ({ ...f, to: join(assetsDir(staging), relative(path)) })),
      ...Object.entries(spec.modules).map(([name, f]) => ({ ...f, to: join(modulesDir(staging), name) })),
    ];
    await mkdir(assetsDir(staging), { recursive: true });
    await mkdir(modulesDir(staging), { recursive: true });
    const known = await knownFiles(root, previous);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as (typeof jobs)[number];
        const from = known.get(job.sha256);
        if (from) {
          await mkdir(dirname(job.to), { recursive: true });
          // Version files are never written after their rename, so sharing an inode is safe.
          const linked = await link(from, job.to).then(
            () => true,
            () => false,
          );
          if (linked) continue;
        }
        const stream = await blobs.get(job.sha256);
        if (!stream) {
          throw new ApiError(422, 'E_MISSING_BLOBS', `The bytes of blob ${job.sha256} are gone from the server`, {
            hint: 'Upload it again (`reyna deploy` uploads what the server lacks) and deploy again.',
            details: { missing: [job.sha256] },
          });
        }
        await mkdir(dirname(job.to), { recursive: true });
        await pipeline(Readable.fromWeb(stream as never), createWriteStream(job.to));
        const size = (await stat(job.to)).size;
        if (size !== job.size) {
          throw new ApiError(422, 'E_SIZE_MISMATCH', `Blob ${job.sha256} is ${size} bytes, not ${job.size}`, {
            hint: 'Send the size of the bytes you uploaded; hash and size the file again.',
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, jobs.length) }, worker));
    await writeFile(join(staging, VERSION_FILE), `${JSON.stringify(canonical(spec))}\n`);
    try {
      await rename(staging, dir);
    } catch (error) {
      // Someone else materialised the same content meanwhile: theirs is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      await rm(staging, { recursive: true, force: true });
      return { versionId, dir, reused: true };
    }
    return { versionId, dir, reused: false };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
