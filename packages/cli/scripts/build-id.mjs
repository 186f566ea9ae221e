// Writes dist/build-id.txt: a hash of the JavaScript of this package and of @reyna/core, as built. The sync
// daemon answers only clients of its own build (src/daemon/_wire.ts), so a rebuild or an upgrade never leaves a
// daemon running code the commands no longer have.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dists = [
  fileURLToPath(new URL('../dist', import.meta.url)),
  dirname(fileURLToPath(import.meta.resolve('@reyna/core'))),
];
const hash = createHash('sha256');
for (const dist of dists) {
  const files = readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js') || f.endsWith('.cjs'))
    .sort();
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(dist, file)))
      .update('\0');
}
writeFileSync(new URL('../dist/build-id.txt', import.meta.url), `${hash.digest('hex').slice(0, 32)}\n`);
