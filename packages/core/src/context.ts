/** Where core writes what it wants a person to know; the CLI decides how it looks. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

/** The IO a core function runs against. Every field has a real default supplied by the caller (the CLI). */
export interface Context {
  cwd: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  signal?: AbortSignal;
}

export function makeContext(partial: Partial<Context> & { cwd: string }): Context {
  return { env: {}, logger: silentLogger, ...partial };
}
