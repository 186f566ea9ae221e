import type { Hook } from '../_oclif.js';
import { createColors, shouldColor } from '../colors.js';
import type { DescribedError } from '../errors.js';
import { formatError } from '../errors.js';
import { jsonRequested } from '../flags.js';

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest command id, if one is close enough to be a typo. */
export function suggest(id: string, ids: readonly string[]): string | undefined {
  let best: { id: string; d: number } | undefined;
  for (const candidate of ids) {
    const d = distance(id, candidate);
    if (d <= Math.max(1, Math.floor(candidate.length / 3)) && (!best || d < best.d)) best = { id: candidate, d };
  }
  return best?.id;
}

/**
 * An unknown command is a usage error like an unknown flag: exit 2, the same `Error:`/`Hint:` lines,
 * and one JSON document with `--json`. `reyna help [command]` shows help, as users expect.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const { config, id, argv = [] } = options;
  const [first, ...rest] = id.split(':');
  if (first === 'help') {
    const { loadHelpClass } = await import('../_oclif.js');
    const Help = await loadHelpClass(config);
    await new Help(config, config.pjson.oclif.helpOptions).showHelp([...rest, ...argv]);
    return;
  }
  const bin = config.bin;
  const shown = id.replaceAll(':', ' ');
  const near = id.startsWith('-') ? undefined : suggest(id, config.commandIDs);
  const described: DescribedError = {
    exitCode: 2,
    error: {
      code: 'E_USAGE',
      message: id.startsWith('-') ? `Unknown flag ${id}` : `Unknown command "${shown}"`,
      hint: near
        ? `Did you mean \`${bin} ${near.replaceAll(':', ' ')}\`?`
        : `Run \`${bin} --help\` to see the commands.`,
    },
  };
  if (jsonRequested([id, ...argv], process.env)) {
    process.stdout.write(`${JSON.stringify({ error: described.error })}\n`);
  } else {
    process.stderr.write(formatError(described, createColors(shouldColor(process.stderr, process.env))));
  }
  this.exit(described.exitCode);
};

export default hook;
