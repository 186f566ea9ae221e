/** Exit codes of the `reyna` binary, documented in the README. */
export const ExitCode = {
  ok: 0,
  user: 1,
  usage: 2,
  internal: 70,
} as const;

export interface ReynaErrorOptions {
  /** What the user can do about it: names a command or a fix. */
  hint?: string;
  /** Extra machine-readable facts, printed with `--json`. */
  details?: Record<string, unknown>;
  /** 1 (user error) unless the error is about the command line itself (2). */
  exitCode?: number;
  cause?: unknown;
}

/**
 * The one error a user is meant to see: a stable code, a message and a hint.
 * Anything thrown that is not a ReynaError is a bug.
 * @example throw new ReynaError('E_TEMPLATE_NOT_FOUND', 'No template "reakt"', { hint: 'Run `reyna init --help`.' })
 */
export class ReynaError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: ReynaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReynaError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.exitCode = options.exitCode ?? ExitCode.user;
  }

  /** The wire shape shared with the studio server: `{ error: { code, message, hint } }`. */
  toJSON(): { error: { code: string; message: string; hint?: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.hint === undefined ? {} : { hint: this.hint }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function isReynaError(error: unknown): error is ReynaError {
  return error instanceof ReynaError;
}
