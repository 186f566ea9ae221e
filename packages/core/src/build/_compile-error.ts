import { relative, resolve } from 'node:path';
import { ReynaError } from '../errors.js';

export function placeOf(file: string | undefined, line: number | undefined, column: number | undefined): string {
  if (!file) return '';
  return `${file}${line === undefined ? '' : `:${line}${column === undefined ? '' : `:${column}`}`}: `;
}

export function compileError(
  step: 'client' | 'worker',
  where: string,
  text: string,
  details: Record<string, unknown>,
): ReynaError {
  return new ReynaError(
    'E_COMPILE',
    `The ${step === 'client' ? 'client' : 'Worker'} does not compile: ${where}${text}`,
    {
      hint: `Fix the code at ${where.replace(/: $/, '') || 'the place shown above'} and run \`reyna build\` again.`,
      details,
    },
  );
}

/** Vite (Rolldown) errors carry their place as `loc`/`id`, or only in their text: "╭─[ src/main.ts:1:11 ]". */
export function viteError(error: unknown, dir: string): ReynaError {
  const e = error as {
    message?: string;
    id?: string;
    loc?: { file?: string; line?: number; column?: number };
    errors?: { message?: string; id?: string; loc?: { file?: string; line?: number; column?: number } }[];
  };
  const first = e.errors?.[0] ?? e;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is being removed
  const text = (first.message ?? String(error)).replace(/\u001b\[[0-9;]*m/g, '');
  const message = (text.split('\n')[0] as string).replace(/^\[[\w:-]+\]\s*/, '').trim();
  const inText = /[[(]\s*([^\s[\]()]+):(\d+):(\d+)\s*[\])]/.exec(text);
  const file = first.loc?.file ?? first.id ?? inText?.[1];
  if (!file) return compileError('client', '', message, {});
  const where = relative(dir, resolve(dir, file.split('?')[0] as string));
  const line = inText ? Number(inText[2]) : first.loc?.line;
  const column = inText ? Number(inText[3]) : first.loc?.column === undefined ? undefined : first.loc.column + 1;
  return compileError('client', placeOf(where, line, column), message, { file: where, line, column });
}
