import { Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';

export default class ServerStart extends BaseCommand<typeof ServerStart> {
  static override summary =
    'Run the studio server (apps, revisions, blobs, buckets) and the local edge for deployed apps.';
  static override description = `Embedded by default: PGlite and blob files in the data dir, events in-process. \
DATABASE_URL=postgres://… uses PostgreSQL (Supabase too) and NATS_URL=nats://… publishes events to NATS. On the first \
start of an empty store it creates the admin user "owner" and prints its API token once. JSON logs go to stderr. \
Limits and quotas: REYNA_SERVER_* variables (see the @reyna/server README).`;

  static override examples = [
    '<%= config.bin %> server start',
    '<%= config.bin %> server start --port 9000 --data-dir ./studio-data',
    'DATABASE_URL=postgres://user@db/reyna <%= config.bin %> server start --host 0.0.0.0',
  ];

  static override flags = {
    port: flag(
      'port',
      Flags.integer({ char: 'p', description: 'Port (0 picks a free one).', default: 8787, min: 0, max: 65535 }),
    ),
    host: flag(
      'host',
      Flags.string({ description: 'Address to listen on; 0.0.0.0 for your network.', default: '127.0.0.1' }),
    ),
    'edge-port': flag(
      'edge-port',
      Flags.integer({
        description:
          'Port of the local edge serving deployed apps at http://<app>.localhost:<port>/ (0 picks a free one).',
        default: 8788,
        min: 0,
        max: 65535,
      }),
    ),
    'data-dir': flag(
      'data-dir',
      Flags.string({
        description: 'Where PGlite and blobs live (default: $XDG_DATA_HOME/reyna/server).',
        helpValue: '<dir>',
      }),
    ),
  };

  async run() {
    // Loaded here only: the server pulls in PGlite, pg and Hono, which `reyna --version` must not pay for.
    // The start entry only: the package index would load every route and adapter before PGlite even begins.
    const { defaultDataDir, startServer } = await import('@reyna/server/start');
    const ctx = this.context();
    const server = await startServer({
      port: this.flags.port,
      host: this.flags.host,
      dataDir: this.flags['data-dir'] ?? defaultDataDir(ctx.env),
      env: ctx.env,
      edgePort: this.flags['edge-port'],
    });
    const c = this.colors;
    const { close, ...result } = server;
    this.render(result, () => {
      this.log(
        `${c.green('➜')} studio server on ${c.bold(server.url)}  ${c.dim(`${server.store} · ${server.dataDir} · ready in ${server.readyMs} ms`)}`,
      );
      if (server.edgeUrl) {
        this.log(
          `${c.green('➜')} local edge on ${c.bold(server.edgeUrl)}  ${c.dim('apps at http://<app>.localhost:<port>/')}`,
        );
      }
      if (server.ownerToken) {
        this.log(`${c.yellow('!')} First start: created the admin user "owner". Its API token, shown only this once:`);
        this.log(`  ${c.bold(server.ownerToken)}`);
        this.log(c.dim(`  reyna login --server ${server.url} --token <token>`));
      }
    });
    await new Promise<void>((done) => this.signal.addEventListener('abort', () => done(), { once: true }));
    await close();
    return result;
  }
}
