// Reading a `reyna build` output for a deploy: the same for every target, so they cannot differ in what they send.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ReynaError } from '../errors.js';
import { injectHtml, isHtmlPath } from '../inject/index.js';
import { contentTypeOf } from './_content-type.js';

/** Every file under `root`, as sorted posix paths relative to it (symlinks followed, as a build's are). */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(full)).isDirectory());
      if (isDir) await walk(full);
      else out.push(relative(root, full).split(sep).join('/'));
    }
  }
  await walk(root);
  return out.sort();
}

export async function readBytes(path: string): Promise<Uint8Array> {
  const buffer = await readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A build's `client/` and `worker/` directories; refused when it has no `client/` or no `worker/index.js`. */
export async function buildDirs(dir: string): Promise<{ clientDir: string; workerDir: string }> {
  const clientDir = join(dir, 'client');
  const workerDir = join(dir, 'worker');
  const isDir = await stat(clientDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir || !(await stat(join(workerDir, 'index.js')).catch(() => undefined))) {
    throw new ReynaError('E_BUILD_MISSING', `No build in ${dir} (it needs client/ and worker/index.js)`, {
      hint: 'Run `reyna build` first.',
    });
  }
  return { clientDir, workerDir };
}

/** A static file as a deploy sends it. */
export interface ClientFile {
  /** The path it is served at, e.g. `/assets/app.js`. */
  path: string;
  /** HTML with the APP_ID injected; anything else as built. */
  bytes: Uint8Array;
  contentType: string;
  /** True for HTML files, which carry the APP_ID. */
  injected: boolean;
}

/** Every static file under `clientDir`, each HTML file (at any depth) with `appId` injected. */
export async function readClientFiles(clientDir: string, appId: string): Promise<ClientFile[]> {
  const files: ClientFile[] = [];
  for (const rel of await listFiles(clientDir)) {
    let bytes = await readBytes(join(clientDir, rel));
    const injected = isHtmlPath(rel);
    if (injected) bytes = new TextEncoder().encode(injectHtml(new TextDecoder().decode(bytes), appId));
    files.push({ path: `/${rel}`, bytes, contentType: contentTypeOf(rel), injected });
  }
  return files;
}
