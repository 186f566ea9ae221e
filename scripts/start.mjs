// `npm start`: Reyna's main job on embedded defaults, as far as it is built today. It makes an app from the
// built-in react template with the real `reyna` binary, builds it, and says plainly what it did and what is
// not there yet.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/run.js');
// Inside the repository, so the app resolves the workspace's installed dependencies: no second npm install.
const work = join(root, '.tmp/start');
const app = join(work, 'example-app');
const step = (text) => process.stdout.write(`\n▸ ${text}\n`);

rmSync(work, { recursive: true, force: true });
step('reyna init example-app --template react');
execFileSync(process.execPath, [bin, 'init', app, '--template', 'react', '--no-install', '--yes'], {
  stdio: 'inherit',
});

step('npm run build (in the new app)');
const started = Date.now();
execFileSync('npm', ['run', 'build', '--silent'], { cwd: app, stdio: 'inherit' });
const seconds = ((Date.now() - started) / 1000).toFixed(1);

const dist = join(app, 'dist');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else files.push(full);
  }
};
if (existsSync(dist)) walk(dist);
const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);

process.stdout.write(`
Done:
  app     ${relative(root, app)}  (made from the built-in react template by the reyna binary)
  build   ${relative(root, dist)}  ${files.length} files, ${(bytes / 1024).toFixed(1)} KiB, in ${seconds} s

Not yet: the studio server on PGlite and the deploy to the local edge are still being built, so there is no
URL to print. Until then, \`npm run dev\` in ${relative(root, app)} serves the client with Vite.
`);
