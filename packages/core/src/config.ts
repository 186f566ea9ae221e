import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './_fs.js';
import { ReynaError } from './errors.js';
import { ReynaConfig, SCHEMA_URL } from './protocol/config.js';

export const CONFIG_FILE = 'reyna.json';

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
      hint: `Fix the syntax of ${CONFIG_FILE}; its schema is ${SCHEMA_URL}.`,
    });
  }
  const parsed = ReynaConfig.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ReynaError('E_CONFIG_INVALID', `${path} is invalid: ${issues.join('; ')}`, {
      hint: `Fix ${CONFIG_FILE}; its schema is ${SCHEMA_URL}.`,
      details: { issues },
    });
  }
  return parsed.data;
}

export function serializeConfig(config: ReynaConfig): string {
  const { $schema, ...rest } = config;
  return `${JSON.stringify({ $schema: $schema ?? SCHEMA_URL, ...rest }, null, 2)}\n`;
}

/** Writes reyna.json whole or not at all. */
export async function writeConfig(dir: string, config: ReynaConfig): Promise<void> {
  await writeFileAtomic(join(dir, CONFIG_FILE), serializeConfig(ReynaConfig.parse(config)));
}
