// What the sync daemon and its clients share: where the socket is, which build answers, and the messages. One
// request per connection, one JSON document a line: the client sends its request (and later, on Ctrl-C,
// `{"abort":true}`); the daemon sends news lines (`{"step":…}`, `{"progress":…}`) while it works, then its reply.
// Node built-ins only, here and in client.ts: every `status` and `push` loads them before it knows whether a
// daemon answers, and a module of core costs more to load than the daemon takes to answer.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncStep, TransferProgress } from '@reyna/core/sync';

export type DaemonOp = 'ping' | 'stop' | 'status' | 'push';

export interface DaemonRequest {
  op: DaemonOp;
  /** The client's build (daemonBuild()): a daemon of another build does not answer, so no old code runs. */
  build: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  homedir?: string;
  server?: string;
  token?: string;
  message?: string;
  concurrency?: number;
  timeoutMs?: number;
  batchBytes?: number;
  batchFiles?: number;
  dryRun?: boolean;
  /** Send transfer progress lines too (a live display wants them). */
  progress?: boolean;
}

/** A ReynaError as it travels; `bug` marks anything else (its stack, for the report). */
export interface WireError {
  code: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
  exitCode: number;
  bug?: { name: string; stack?: string };
}

export type DaemonReply =
  | { ok: true; result: unknown }
  | { ok: false; error: WireError }
  /** Another build: the client runs the command itself (the daemon exits). */
  | { ok: false; stale: true };

/** What the daemon reports while it works: a step of the command, or how far a transfer got. */
export type DaemonNews =
  | { step: SyncStep; state: 'start' | 'done' | 'skip'; detail?: string }
  | { progress: TransferProgress };

export interface DaemonInfo {
  pid: number;
  build: string;
  socket: string;
  startedAt: string;
  requests: number;
  idleTimeoutMs: number;
  trees: { root: string; watching: number }[];
  /** Studio servers' event streams followed (one per server and token), and how many are open now. */
  eventStreams: { followed: number; open: number };
}

/** Calls `onLine` with each line that arrives on `socket`, without its newline. */
export function onLines(socket: Socket, onLine: (line: string) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      onLine(line);
    }
  });
}

// A socket path longer than this does not fit sockaddr_un on every system (104 bytes on macOS).
const MAX_SOCKET_PATH = 100;

/**
 * The daemon's socket: REYNA_DAEMON_SOCKET, else `daemon.sock` beside the credentials file (one daemon per
 * user configuration, as tokens are), else, when that path is too long for a socket, one in the temp directory
 * named after it.
 */
export function daemonSocket(env: Record<string, string | undefined>, home = homedir()): string {
  if (env.REYNA_DAEMON_SOCKET) return env.REYNA_DAEMON_SOCKET;
  // The directory of core's credentialsPath().
  const beside = join(env.XDG_CONFIG_HOME || join(env.HOME || home, '.config'), 'reyna', 'daemon.sock');
  const id = () =>
    process.getBuiltinModule('node:crypto').createHash('sha256').update(beside).digest('hex').slice(0, 16);
  if (process.platform === 'win32') return `\\\\.\\pipe\\reyna-daemon-${id()}`;
  if (Buffer.byteLength(beside) <= MAX_SOCKET_PATH) return beside;
  return join(tmpdir(), `reyna-daemon-${id()}.sock`);
}

/**
 * This installation's build: the hash scripts/build-id.mjs wrote of the package's and core's JavaScript, so that
 * an upgrade or a rebuild changes it. 'unbuilt' when running from source (tests), where there is none.
 */
export function daemonBuild(): string {
  try {
    return readFileSync(new URL('../build-id.txt', import.meta.url), 'latin1').trim();
  } catch {
    return 'unbuilt';
  }
}
