// How long `reyna --version` and `reyna --help` take next to a bare `node -e 0`, on this machine, in one run.
// Target: each within 1.6× of node. Prints PASS/FAIL per line but always exits 0: a benchmark, not a test.
// `node bench/startup.mjs [runs]` (default 15 runs after 2 warm-ups, interleaved so drift hits all alike).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TARGET = 1.6;
const WARMUPS = 2;
const runs = Number(process.argv[2] ?? 15);
const bin = fileURLToPath(new URL('../packages/cli/bin/reyna.cjs', import.meta.url));
const cases = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'reyna --version', args: [bin, '--version'] },
  { name: 'reyna --help', args: [bin, '--help'] },
];

if (!existsSync(new URL('../packages/cli/dist/help.txt', import.meta.url))) {
  console.log('note: packages/cli is not built (no dist/help.txt); run `npm run build` first for meaningful figures');
}

const env = { ...process.env, NO_COLOR: '1' };
delete env.NODE_OPTIONS;
function time(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const samples = cases.map(() => []);
for (let i = 0; i < WARMUPS + runs; i++) {
  cases.forEach((c, j) => {
    const ms = time(c.args);
    if (i >= WARMUPS) samples[j].push(ms);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const medians = samples.map(median);
const base = medians[0];
console.log(
  `startup: median of ${runs} runs (after ${WARMUPS} warm-ups), node ${process.version}, target ≤ ${TARGET}× node -e 0`,
);
cases.forEach((c, j) => {
  const ratio = medians[j] / base;
  const verdict = j === 0 ? '' : ratio <= TARGET ? 'PASS' : 'FAIL';
  console.log(
    `  ${c.name.padEnd(16)} ${medians[j].toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}×  ${verdict}`.trimEnd(),
  );
});
