import { stat } from 'node:fs/promises';
import { readTree } from '../../_fs.js';
import { ReynaError } from '../../errors.js';
import { readManifest } from '../manifest.js';
import type { TemplateSnapshot, TemplateSource } from '../source.js';
import type { TemplateSpec } from '../spec.js';

type DirSpec = Extract<TemplateSpec, { kind: 'dir' }>;

/** A plain directory on disk, copied as it is now. It has no history, so apps made from it cannot be upgraded. */
export const dirSource: TemplateSource<DirSpec> = {
  async fetch(spec): Promise<TemplateSnapshot> {
    const info = await stat(spec.path).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new ReynaError('E_TEMPLATE_NOT_FOUND', `No template directory at ${spec.path}`, {
        hint: 'Check the path, or use a built-in template name or a git URL.',
      });
    }
    const files = await readTree(spec.path);
    const manifest = readManifest(files, spec.path);
    return { source: `dir:${spec.path}`, files, manifest, version: manifest?.version };
  },
  async fetchExact(spec) {
    throw new ReynaError('E_UPGRADE_NO_HISTORY', `The template ${spec.path} is a plain directory with no history`, {
      hint: 'Upgrades need the template at the version the app was made from: keep templates in git and init from `path#ref`.',
    });
  },
  async latestRef() {
    return undefined;
  },
};
