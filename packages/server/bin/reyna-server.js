#!/usr/bin/env node
// `npx @reyna/server`: the same as `reyna server start`, without the CLI. Flags have the same REYNA_* env twins.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
const env = process.env;
if (values.help) {
  process.stdout.write(`Usage: reyna-server [--port 8787] [--host 127.0.0.1] [--data-dir DIR] [--json]

Runs the Reyna studio server. DATABASE_URL selects PostgreSQL, NATS_URL selects NATS; limits are REYNA_SERVER_*.
`);
  process.exit(0);
}
// Only what starting needs: the rest (routes, PGlite, pino) loads inside startServer, beside PGlite's start.
const { defaultDataDir, startServer } = await import('../dist/start.js');
const port = Number(values.port ?? env.REYNA_PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`Error: --port ${values.port ?? env.REYNA_PORT} is not a port number\n`);
  process.exit(2);
}
// Handlers go in before the ready line is printed: whoever reads that line may signal at once.
let close;
let closing = false;
const stop = () => {
  if (closing || !close) process.exit(130);
  closing = true;
  close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
try {
  const server = await startServer({
    port,
    host: values.host ?? env.REYNA_HOST ?? '127.0.0.1',
    dataDir: values['data-dir'] ?? env.REYNA_DATA_DIR ?? defaultDataDir(env),
    env,
  });
  const { close: closeServer, ...result } = server;
  close = closeServer;
  if (values.json || ['1', 'true'].includes(String(env.REYNA_JSON).toLowerCase())) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(
      `studio server on ${server.url} (${server.store}, ${server.dataDir}, ready in ${server.readyMs} ms)\n`,
    );
    if (server.ownerToken) {
      process.stdout.write(
        `First start: created the admin user "owner". Its API token, shown only this once:\n  ${server.ownerToken}\n`,
      );
    }
  }
} catch (error) {
  const e = /** @type {{ code?: string; message: string; hint?: string }} */ (error);
  process.stderr.write(`Error: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}\n`);
  process.exit(1);
}
