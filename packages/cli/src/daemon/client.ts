// Asking the sync daemon (see serve.ts). Where none runs, or one of another build, the answer is undefined and
// the command runs in its own process, as it would without a daemon: a daemon only ever makes a command faster.
// Node built-ins only (see _wire.ts): core's errors are loaded when the daemon answers with one.
import { lstatSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import type { PushResult, StatusResult, SyncOptions } from '@reyna/core/sync';
import {
  type DaemonInfo,
  type DaemonNews,
  type DaemonOp,
  type DaemonReply,
  type DaemonRequest,
  daemonBuild,
  daemonSocket,
  onLines,
  type WireError,
} from './_wire.js';

type Env = Record<string, string | undefined>;

export interface DaemonCall extends Omit<DaemonRequest, 'build' | 'op' | 'env' | 'homedir' | 'progress'> {
  op: DaemonOp;
  env: Env;
  signal?: AbortSignal;
  onStep?: SyncOptions['onStep'];
  onProgress?: SyncOptions['onProgress'];
  /**
   * When the daemon goes away before it answered: true answers undefined (the caller runs the command itself,
   * safe for a status); false throws E_DAEMON_LOST (a push may have committed: the user should look first).
   */
  retryOnLoss: boolean;
}

/** Whether a daemon may be asked at all: REYNA_NO_DAEMON not set, and a socket of this user's where it should be. */
function socketToAsk(env: Env): string | undefined {
  if (env.REYNA_NO_DAEMON !== undefined && !['', '0', 'false'].includes(env.REYNA_NO_DAEMON.toLowerCase()))
    return undefined;
  const socket = daemonSocket(env, homedir());
  if (process.platform === 'win32') return socket;
  try {
    const st = lstatSync(socket);
    // Someone else's socket would be handed this user's token.
    return st.isSocket() && st.uid === process.getuid?.() ? socket : undefined;
  } catch {
    return undefined;
  }
}

/** The daemon's result for `call`, or undefined when no daemon of this build answers. Its errors are thrown. */
export async function askDaemon(call: DaemonCall): Promise<unknown | undefined> {
  const socket = socketToAsk(call.env);
  if (socket === undefined) return undefined;
  const answer = await exchange(socket, call);
  if (answer.error) throw await fromWire(answer.error);
  return answer.result;
}

/** One request and its reply: the result, or the daemon's error, or neither when no daemon answered. */
function exchange(socket: string, call: DaemonCall): Promise<{ result?: unknown; error?: WireError }> {
  const { signal, onStep, onProgress, retryOnLoss, ...fields } = call;
  const request: DaemonRequest = {
    ...fields,
    build: daemonBuild(),
    homedir: homedir(),
    progress: onProgress !== undefined,
  };
  return new Promise((resolveCall) => {
    const conn = connect(socket);
    let connected = false;
    let replied = false;
    const onAbort = () => {
      if (!conn.destroyed) conn.write('{"abort":true}\n');
    };
    conn.once('connect', () => {
      connected = true;
      conn.write(`${JSON.stringify(request)}\n`);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    onLines(conn, (line) => {
      if (replied) return;
      let message: DaemonReply | DaemonNews;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if ('step' in message) onStep?.(message.step, message.state, message.detail);
      else if ('progress' in message) onProgress?.(message.progress);
      else {
        replied = true;
        signal?.removeEventListener('abort', onAbort);
        conn.end();
        if (message.ok) resolveCall({ result: message.result });
        else if ('stale' in message) resolveCall({});
        else resolveCall({ error: message.error });
      }
    });
    conn.on('error', () => {});
    conn.on('close', () => {
      if (replied) return;
      signal?.removeEventListener('abort', onAbort);
      // Never reached (a stale socket, a daemon that is starting or stopping): run it here.
      if (!connected || retryOnLoss) resolveCall({});
      else {
        resolveCall({
          error: {
            code: 'E_DAEMON_LOST',
            message: `The sync daemon stopped before it answered \`${call.op}\``,
            hint: 'Run `reyna status` to see where the app stands, then run the command again.',
            exitCode: 1,
          },
        });
      }
    });
  });
}

/** The call for `op` with the options a command would pass to core (those that can travel). */
export function callFor(
  op: 'status' | 'push',
  options: Pick<SyncOptions, 'cwd' | 'env' | 'signal' | 'server' | 'token' | 'onStep' | 'onProgress'> &
    Pick<SyncOptions, 'concurrency' | 'timeoutMs' | 'batchBytes' | 'batchFiles'> & {
      message?: string;
      dryRun?: boolean;
    },
): DaemonCall {
  const { cwd, env, signal, server, token, onStep, onProgress, message, dryRun } = options;
  const { concurrency, timeoutMs, batchBytes, batchFiles } = options;
  return {
    op,
    cwd,
    env,
    signal,
    server,
    token,
    onStep,
    onProgress,
    message,
    dryRun,
    concurrency,
    timeoutMs,
    batchBytes,
    batchFiles,
    // A status asked again here is harmless; a push the daemon may have committed is not sent twice unasked.
    retryOnLoss: op === 'status',
  };
}

/**
 * core's `status`, answered by the daemon when one of this build runs, else by core in this process (loaded only
 * then): then `aloneMs` is how long it took (what daemonTip judges).
 */
export async function status(options: SyncOptions): Promise<{ result: StatusResult; aloneMs?: number }> {
  const started = performance.now();
  const answer = (await askDaemon(callFor('status', options))) as StatusResult | undefined;
  if (answer) return { result: answer };
  const result = await (await import('@reyna/core/sync')).status(options);
  return { result, aloneMs: performance.now() - started };
}

/** core's `push`, as `status` is; the daemon's steps and progress reach `onStep` and `onProgress` as core's do. */
export async function push(options: SyncOptions & { message?: string; dryRun?: boolean }): Promise<PushResult> {
  const answer = (await askDaemon(callFor('push', options))) as PushResult | undefined;
  return answer ?? (await import('@reyna/core/sync')).push(options);
}

/** The running daemon's facts, or undefined when none (of this build) answers; REYNA_NO_DAEMON aside. */
export async function daemonInfo(env: Env): Promise<DaemonInfo | undefined> {
  const { REYNA_NO_DAEMON: _off, ...asked } = env;
  return (await askDaemon({ op: 'ping', env: asked, retryOnLoss: true })) as DaemonInfo | undefined;
}

/** Asks the daemon to stop; its facts as it stopped, or undefined when none answered. */
export async function stopDaemon(env: Env): Promise<DaemonInfo | undefined> {
  const { REYNA_NO_DAEMON: _off, ...asked } = env;
  return (await askDaemon({ op: 'stop', env: asked, retryOnLoss: true })) as DaemonInfo | undefined;
}

async function fromWire(error: WireError): Promise<Error> {
  if (error.bug) {
    const bug = new Error(error.message);
    bug.name = error.bug.name;
    bug.stack = error.bug.stack;
    return bug;
  }
  const { ReynaError } = await import('@reyna/core/errors');
  return new ReynaError(error.code, error.message, {
    hint: error.hint,
    details: error.details,
    exitCode: error.exitCode,
  });
}
