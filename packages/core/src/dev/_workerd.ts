import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { HOST_MODULE } from './_host.js';

/**
 * workerd, run by `reyna dev` itself rather than through Miniflare: dev needs one Worker (the host, _host.ts) with
 * two plain bindings, two services this process answers and a Worker Loader, which fit in a few lines of workerd's
 * text config. Miniflare would cost ~0.6 s of loading on this thread and its own Workers ~0.3 s more of workerd's
 * start, of a 1.5 s budget for the whole of `reyna dev`; workerd alone answers in ~0.1 s.
 */
export interface WorkerdConfig {
  /** The host Worker's module source. */
  hostModule: string;
  compatibilityDate: string;
  appId: string;
  /** `host:port` of this process's server for the runtime: the ASSETS binding and the code of each version. */
  callbacks: string;
}

/** A request that workerd sends to `callbacks` for a version's code carries this header (and others do not). */
export const CODE_HEADER = 'x-reyna-code';

/** A Cap'n Proto text literal: the format takes C escapes; `\x` keeps every control character one. */
export function capnpString(value: string): string {
  let out = '"';
  for (const c of value) {
    const code = c.charCodeAt(0);
    if (c === '\\' || c === '"') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/** workerd's config for dev: the host Worker on a loopback port of workerd's choosing. */
export function workerdConfig(config: WorkerdConfig): string {
  const s = capnpString;
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "reyna-dev", worker = (
      modules = [(name = ${s(HOST_MODULE)}, esModule = ${s(config.hostModule)})],
      compatibilityDate = ${s(config.compatibilityDate)},
      bindings = [
        (name = "APP_ID", text = ${s(config.appId)}),
        (name = "ASSETS", service = "reyna-assets"),
        (name = "__REYNA_CODE", service = "reyna-code"),
        (name = "__REYNA_LOADER", workerLoader = ()),
      ],
    )),
    (name = "reyna-assets", external = (address = ${s(config.callbacks)}, http = ())),
    (name = "reyna-code", external = (address = ${s(config.callbacks)}, http = (
      injectRequestHeaders = [(name = ${s(CODE_HEADER)}, value = "1")],
    ))),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "reyna-dev")],
);
`;
}

export interface Workerd {
  /** The loopback port workerd serves the host Worker on. */
  port: number;
  /** Stops workerd and waits for it to end. */
  dispose(): Promise<void>;
}

const require = createRequire(import.meta.url);
/** The workerd binary of the `workerd` package (the one Miniflare runs too). */
export const workerdBinary = (): string => (require('workerd') as { default: string }).default;

/** Every workerd this process started and has not seen end: gone when the process exits, however it exits. */
const running = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of running) c.kill();
  });
}

/**
 * Starts workerd with `config` and resolves once it listens. `onStdio` gets its output streams at once (the
 * logger's reading of them, see _runtime.ts). If it ends before it listens, the promise rejects with the exit.
 */
export async function startWorkerd(
  config: WorkerdConfig,
  options: { env: Record<string, string | undefined>; onStdio: (stdout: Readable, stderr: Readable) => void },
): Promise<Workerd> {
  const dir = await mkdtemp(join(tmpdir(), 'reyna-dev-'));
  try {
    const file = join(dir, 'workerd.capnp');
    await writeFile(file, workerdConfig(config));
    // --experimental: the Worker Loader binding is still behind it.
    const child = spawn(workerdBinary(), ['serve', '--experimental', '--control-fd=3', file], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: options.env,
    });
    track(child);
    const stdout = child.stdout as Readable;
    const stderr = child.stderr as Readable;
    options.onStdio(stdout, stderr);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`workerd exited (${signal ?? `code ${code}`}) before it listened`)),
      );
      createInterface(child.stdio[3] as Readable).on('line', (line) => {
        try {
          const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
          if (message.event === 'listen' && message.socket === 'http') resolve(message.port as number);
        } catch {
          // Not one of workerd's control messages.
        }
      });
    });
    return {
      port,
      async dispose() {
        if (child.exitCode === null && child.signalCode === null) child.kill();
        await exited;
      },
    };
  } finally {
    // workerd has read its config once it listens (or ended).
    await rm(dir, { recursive: true, force: true });
  }
}
