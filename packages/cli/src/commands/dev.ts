import { spawn } from 'node:child_process';
import { emitKeypressEvents } from 'node:readline';
// The dev subpath, not the package root: the root loads every feature (zod, the Cloudflare SDK, …) first.
import { startDev } from '@reyna/core/dev';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';

const HELP = '  r restart · o open in browser · q quit · h help';

export default class Dev extends BaseCommand<typeof Dev> {
  static override summary = 'Preview the app with hot reload: Vite for the client, the Worker in workerd.';
  static override description = `One URL: /api/* goes to the app's Worker running in workerd with the same \
bindings as production (APP_ID, ASSETS), everything else to Vite with HMR. window.ENV.APP_ID is injected as \
deploy does. Worker edits are rebuilt and swapped in; editing reyna.json restarts the server. On a terminal: \
r restart, o open, q quit, h help.`;

  static override examples = [
    '<%= config.bin %> dev',
    '<%= config.bin %> dev --port 3000 --open',
    '<%= config.bin %> dev --host',
    '<%= config.bin %> dev --host 192.168.1.20',
  ];

  static override flags = {
    port: flag(
      'port',
      Flags.integer({ char: 'p', description: 'Port (default 5173, or the next free one).', min: 0, max: 65535 }),
    ),
    host: flag(
      'host',
      Flags.string({
        description:
          'Address to listen on (default 127.0.0.1); bare --host listens on every interface, for your network.',
      }),
    ),
    open: flag('open', Flags.boolean({ description: 'Open the browser once ready.' })),
    'app-id': flag(
      'app-id',
      Flags.string({ description: 'APP_ID to inject (default: the linked app, or dev-<name>).' }),
    ),
  };

  // Like Vite's, --host may come without a value; oclif's string flags always take one, so a bare one gets ''.
  override async init(): Promise<void> {
    this.argv = this.argv.map((arg, i, all) =>
      arg === '--host' && (i === all.length - 1 || all[i + 1]?.startsWith('-')) ? '--host=' : arg,
    );
    await super.init();
  }

  async run() {
    const ctx = this.context();
    const dev = await startDev(ctx, {
      port: this.flags.port ?? 5173,
      fallbackPort: this.flags.port === undefined,
      host: this.flags.host === '' ? true : this.flags.host,
      appId: this.flags['app-id'],
    });
    const c = this.colors;
    const result = { url: dev.url, networkUrls: dev.networkUrls, appId: dev.appId, readyMs: dev.readyMs };
    this.render(result, () => {
      this.log(`${c.green('➜')} ${c.bold(dev.url)}  ${c.dim(`APP_ID ${dev.appId}`)}`);
      for (const url of dev.networkUrls) this.log(`${c.green('➜')} ${url}  ${c.dim('network')}`);
      this.log(c.dim(`ready in ${dev.readyMs} ms`));
      if (process.stdin.isTTY) this.log(c.dim('  press h for shortcuts'));
    });
    dev.on((event) => {
      if (event.type === 'worker-reloaded') this.logger.info(c.dim(`Worker reloaded in ${event.ms} ms`));
      if (event.type === 'restarted') this.logger.info(c.dim(`Restarted in ${event.ms} ms`));
    });
    if (this.flags.open) openBrowser(dev.url);

    await new Promise<void>((done) => {
      this.signal.addEventListener('abort', () => done(), { once: true });
      if (!process.stdin.isTTY || this.json) return;
      emitKeypressEvents(process.stdin);
      process.stdin.setRawMode(true);
      process.stdin.on('keypress', (_text: string, key: { name?: string; ctrl?: boolean }) => {
        if (key.ctrl && key.name === 'c') done();
        else if (key.name === 'q') done();
        else if (key.name === 'o') openBrowser(dev.url);
        else if (key.name === 'h') this.logger.info(HELP);
        else if (key.name === 'r') {
          this.logger.info('Restarting…');
          dev.restart().catch((error: Error) => this.logger.warn(error.message));
        }
      });
    });
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    await dev.close();
    return result;
  }
}

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}
