// Runs every benchmark in bench/ (every *.mjs but this one), one after another.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const failed = [];
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== self)
  .sort()) {
  console.log(`\n# ${file}`);
  const r = spawnSync(process.execPath, [`${dir}${file}`], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(file);
}
if (failed.length) {
  console.error(`\nbenchmarks that missed a target or did not run to the end: ${failed.join(', ')}`);
  process.exitCode = 1;
}
