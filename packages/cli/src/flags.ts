/** `dry-run` → `REYNA_DRY_RUN`: the environment variable twin of a flag. */
export function envName(flagName: string): string {
  return `REYNA_${flagName.replaceAll('-', '_').toUpperCase()}`;
}

/**
 * Gives a flag its `REYNA_*` environment twin, derived from its name, so no flag is without one.
 * @example static flags = { template: flag('template', Flags.string({ description: 'Template to start from' })) }
 */
export function flag<F extends object>(name: string, definition: F): F {
  return { ...definition, env: envName(name) };
}

/** The values oclif reads as true for a boolean flag's env twin. */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'y', 'yes'].includes(value.toLowerCase());
}

/** Whether `--json` was asked for, before (or without) parsing: on the command line before `--`, or REYNA_JSON. */
export function jsonRequested(argv: readonly string[], env: Record<string, string | undefined>): boolean {
  const end = argv.indexOf('--');
  const json = argv.indexOf('--json');
  return (json !== -1 && (end === -1 || json < end)) || isTruthy(env[envName('json')]);
}

/** CI=true (or any value but false/0) means nobody is there to answer a prompt. */
export function isCI(env: Record<string, string | undefined>): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
}
