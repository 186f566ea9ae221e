// The thread a client build runs on (see _client.ts): loads the app's Vite as soon as it starts, then builds
// when asked, and sends back Vite's log lines and the outcome.
import { parentPort, workerData } from 'node:worker_threads';
import { type FromThread, toThreadError, viteBuild } from './_client.js';
import { loadVite } from './_tools.js';

const { dir } = workerData as { dir: string };
const port = parentPort as NonNullable<typeof parentPort>;
const send = (message: FromThread) => port.postMessage(message);
const loading = loadVite(dir);
// A failure is reported when the build is asked for, not as an unhandled rejection before.
loading.catch(() => {});

port.once('message', async ({ outDir }: { outDir: string }) => {
  try {
    const vite = await loading;
    await viteBuild(vite, dir, outDir, (text) => send({ type: 'log', text }));
    send({ type: 'done', version: vite.version });
  } catch (error) {
    send({ type: 'failed', error: toThreadError(error) });
  }
});
