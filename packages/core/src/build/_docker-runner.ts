// Runs inside the build container (bundled into one file by docker.ts): the same buildApp as a local build,
// so the two cannot differ. Its outcome goes to .reyna/docker-result.json for the host to read.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReynaError } from '../errors.js';
import { buildApp } from './index.js';

const dir = process.cwd();
const options = JSON.parse(process.env.REYNA_DOCKER_BUILD ?? '{}') as { typecheck?: boolean; plan?: 'free' | 'paid' };
const resultFile = join(dir, '.reyna', 'docker-result.json');
const print = (message: string) => process.stdout.write(`${message}\n`);
try {
  const result = await buildApp(
    { cwd: dir, env: process.env, logger: { info: print, warn: print, debug() {} } },
    // No network in here: the host sends the build record.
    { install: false, typecheck: options.typecheck, plan: options.plan, onLog: print, record: false, thread: false },
  );
  await writeFile(resultFile, JSON.stringify({ ok: true, id: result.id }));
} catch (error) {
  const described =
    error instanceof ReynaError
      ? error.toJSON().error
      : { code: 'E_INTERNAL', message: (error as Error).stack ?? String(error) };
  await writeFile(resultFile, JSON.stringify({ ok: false, error: described }));
  process.exitCode = 1;
}
