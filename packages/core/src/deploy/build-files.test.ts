// What every deploy target sends of a build's client/: the files a build has, HTML ones (at any depth, any case)
// injected with the APP_ID, the rest byte for byte.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDirs, readClientFiles } from './_build-files.js';

const root = mkdtempSync(join(tmpdir(), 'reyna-build-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(root, 'b-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('readClientFiles', () => {
  it('injects every HTML file of the build, and only those', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    const dir = tree({
      'client/index.html': '<!doctype html><html><head><script type="module" src="/a.js"></script></head></html>',
      'client/about/index.html': '<html><head><title>About</title></head><body>{{APP_ID}}</body></html>',
      'client/docs/deep/page.HTM': '<p>no head</p>',
      'client/a.js': 'console.log("{{APP_ID}}")',
      'client/logo.png': png,
      'worker/index.js': 'export default {}',
    });
    const { clientDir } = await buildDirs(dir);
    const files = await readClientFiles(clientDir, 'app_7');
    expect(files.map((f) => [f.path, f.injected, f.contentType])).toEqual([
      ['/a.js', false, 'text/javascript; charset=utf-8'],
      ['/about/index.html', true, 'text/html; charset=utf-8'],
      ['/docs/deep/page.HTM', true, 'text/html; charset=utf-8'],
      ['/index.html', true, 'text/html; charset=utf-8'],
      ['/logo.png', false, 'image/png'],
    ]);
    const text = (path: string) => new TextDecoder().decode(files.find((f) => f.path === path)?.bytes);
    const tag = '<script>window.ENV = {"APP_ID":"app_7"}</script>';
    expect(text('/index.html')).toBe(
      `<!doctype html><html><head>${tag}\n<script type="module" src="/a.js"></script></head></html>`,
    );
    expect(text('/about/index.html')).toBe(`<html><head><title>About</title>${tag}</head><body>app_7</body></html>`);
    expect(text('/docs/deep/page.HTM')).toBe(`${tag}<p>no head</p>`);
    // Not HTML: as built, placeholder and all.
    expect(text('/a.js')).toBe('console.log("{{APP_ID}}")');
    expect(files.find((f) => f.path === '/logo.png')?.bytes).toEqual(png);
  });

  it('refuses a directory that is not a build', async () => {
    await expect(buildDirs(tree({ 'client/index.html': '' }))).rejects.toMatchObject({ code: 'E_BUILD_MISSING' });
  });
});
