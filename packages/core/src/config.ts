import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './_fs.js';
import { ReynaError } from './errors.js';
import { check } from './protocol/_checks.js';
import type { ReynaConfig } from './protocol/config.js';
import { SCHEMA_FILE } from './protocol/constants.js';

export const CONFIG_FILE = 'reyna.json';
const SCHEMA_HINT = `an editor completes it from ${SCHEMA_FILE}, which \`reyna init\` writes beside it.`;

/** The zod schemas of reyna.json, loaded only when needed: loading zod costs more than a whole `reyna status`. */
const schemas = () => import('./protocol/config.js');

/** Reads and validates an app's reyna.json. */
export async function readConfig(dir: string): Promise<ReynaConfig> {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    // A file of a few hundred bytes: read at once, not through the thread pool and back.
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ReynaError('E_NOT_AN_APP', `${dir} has no ${CONFIG_FILE}`, {
        hint: 'Run this inside a Reyna app, or create one with `reyna init`.',
      });
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReynaError('E_CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `Fix the syntax of ${CONFIG_FILE}; ${SCHEMA_HINT}`,
    });
  }
  // The generated check answers what zod would for a valid file; zod itself judges the rest (and explains).
  const checked = check('ReynaConfig', json);
  if (checked) return checked;
  const parsed = (await schemas()).ReynaConfig.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ReynaError('E_CONFIG_INVALID', `${path} is invalid: ${issues.join('; ')}`, {
      hint: `Fix ${CONFIG_FILE}; ${SCHEMA_HINT}`,
      details: { issues },
    });
  }
  return parsed.data;
}

/** reyna.json's text: `$schema` first, where editors look for it. */
export function serializeConfig(config: ReynaConfig): string {
  const { $schema, ...rest } = config;
  return `${JSON.stringify($schema === undefined ? rest : { $schema, ...rest }, null, 2)}\n`;
}

/** Writes reyna.json whole or not at all. */
export async function writeConfig(dir: string, config: ReynaConfig): Promise<void> {
  await writeFileAtomic(join(dir, CONFIG_FILE), serializeConfig((await schemas()).ReynaConfig.parse(config)));
}
