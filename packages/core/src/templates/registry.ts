import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../context.js';
import { builtinSource, readBuiltinIndex } from './adapters/builtin.js';
import { dirSource } from './adapters/dir.js';
import { gitSource } from './adapters/git.js';
import type { TemplateSource } from './source.js';
import type { TemplateSpec } from './spec.js';

export interface TemplateSources {
  builtinRoot: string;
  cacheDir: string;
  env: Record<string, string | undefined>;
  logger: Logger;
}

/** `$XDG_CACHE_HOME/reyna/templates`, or `~/.cache/reyna/templates`. */
export function templateCacheDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'reyna', 'templates');
}

/** Picks the adapter for a spec. */
export function sourceFor(spec: TemplateSpec, sources: TemplateSources): TemplateSource {
  switch (spec.kind) {
    case 'builtin':
      return builtinSource(sources.builtinRoot) as TemplateSource;
    case 'dir':
      return dirSource as TemplateSource;
    case 'git':
      return gitSource({ cacheDir: sources.cacheDir, env: sources.env, logger: sources.logger }) as TemplateSource;
  }
}

/** Names and descriptions of the built-in templates, for prompts and hints. */
export async function listBuiltinTemplates(
  builtinRoot: string,
): Promise<{ name: string; description: string; version: string }[]> {
  const index = await readBuiltinIndex(builtinRoot);
  return Object.entries(index)
    .map(([name, versions]) => {
      const latest = versions[versions.length - 1];
      return { name, description: latest?.description ?? '', version: latest?.version ?? '' };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
