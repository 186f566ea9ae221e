import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './_fs.js';
import { ReynaError } from './errors.js';
import { conform } from './protocol/_json-schema.js';
import { publishedSchema } from './protocol/_published-schema.js';
import { SCHEMA_FILE } from './protocol/_schema-file.js';
// Types only: zod loads when a reyna.json needs its verdict or one is written (see readConfig).
import type { ReynaConfig } from './protocol/config.js';

export const CONFIG_FILE = 'reyna.json';
const SCHEMA_HINT = `an editor completes it from ${SCHEMA_FILE}, which \`reyna init\` writes beside it.`;

/** Reads and validates an app's reyna.json. */
export async function readConfig(dir: string): Promise<ReynaConfig> {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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
  // The common case, a valid file, is settled without zod; zod has the last word on anything else.
  const schema = await publishedSchema();
  const fast = schema && conform(schema, json);
  if (fast) return fast.value as ReynaConfig;
  const { ReynaConfig } = await import('./protocol/config.js');
  const parsed = ReynaConfig.safeParse(json);
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
  const { ReynaConfig } = await import('./protocol/config.js');
  await writeFileAtomic(join(dir, CONFIG_FILE), serializeConfig(ReynaConfig.parse(config)));
}
