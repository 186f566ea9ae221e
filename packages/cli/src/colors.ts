/** Five styles are all reyna's output needs; each is the identity when colour is off. */
export interface Colors {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

type Stream = { isTTY?: boolean };

/**
 * Whether to colour what goes to `stream`: never with NO_COLOR (https://no-color.org), always with
 * FORCE_COLOR (unless it is 0/false), otherwise only on a terminal that is not "dumb".
 */
export function shouldColor(stream: Stream, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const style = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function createColors(enabled: boolean): Colors {
  if (!enabled) return { enabled, bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
  return {
    enabled,
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
  };
}
