import { mkdir, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';

/**
 * Writes the files of an uncompressed ustar archive under `dir`: only what PGlite's dumpDataDir produces (files and
 * directories), which is all it is used for. Paths leaving `dir` are refused.
 */
export async function extractTar(tar: Uint8Array, dir: string): Promise<number> {
  const buf = Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength);
  let offset = 0;
  let files = 0;
  const made = new Set<string>();
  const pending: Promise<void>[] = [];
  const ensureDir = async (path: string) => {
    if (made.has(path)) return;
    await mkdir(path, { recursive: true });
    made.add(path);
  };
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const name = field(0, 100);
    const prefix = field(345, 155);
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const mode = Number.parseInt(field(100, 8).trim() || '644', 8) & 0o777;
    const type = String.fromCharCode(header[156] ?? 48);
    const rel = normalize((prefix ? `${prefix}/${name}` : name).replace(/^\/+/, ''));
    if (rel.startsWith('..') || rel.startsWith('/')) throw new Error(`tar entry "${rel}" leaves the target directory`);
    const target = join(dir, rel);
    offset += 512;
    if (type === '5') await ensureDir(target);
    else if (type === '0' || type === '\0') {
      await ensureDir(join(target, '..'));
      // Many small files: writing several at once is about twice as fast as one by one.
      pending.push(writeFile(target, buf.subarray(offset, offset + size), { mode: mode || 0o600 }));
      if (pending.length >= 32) await Promise.all(pending.splice(0));
      files++;
    }
    offset += Math.ceil(size / 512) * 512;
  }
  await Promise.all(pending);
  return files;
}
