import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTree } from '../../_fs.js';
import { ReynaError } from '../../errors.js';
import { readManifest } from '../manifest.js';
import { compareVersions, versionOf } from '../semver.js';
import type { TemplateSnapshot, TemplateSource } from '../source.js';
import type { TemplateSpec } from '../spec.js';

type BuiltinSpec = Extract<TemplateSpec, { kind: 'builtin' }>;

/** One shipped version of a built-in template, stamped with the commit of the Reyna repository it came from. */
export interface BuiltinVersion {
  version: string;
  commit: string;
  /** Directory of the files, relative to the built-in root. */
  dir: string;
  description: string;
}

/** `index.json` at the root of the shipped templates: name → versions, oldest first. */
export type BuiltinIndex = Record<string, BuiltinVersion[]>;

export async function readBuiltinIndex(root: string): Promise<BuiltinIndex> {
  try {
    return JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as BuiltinIndex;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

/** Built-in templates, shipped inside the CLI package with every tagged version. */
export function builtinSource(root: string): TemplateSource<BuiltinSpec> {
  async function versions(name: string): Promise<BuiltinVersion[]> {
    const index = await readBuiltinIndex(root);
    const list = index[name];
    if (!list?.length) {
      const names = Object.keys(index).sort();
      throw new ReynaError('E_TEMPLATE_NOT_FOUND', `No template "${name}"`, {
        hint: `Available built-in templates: ${names.join(', ') || '(none)'}. A directory or a git URL works too.`,
        details: { available: names },
      });
    }
    return list;
  }
  async function load(name: string, entry: BuiltinVersion): Promise<TemplateSnapshot> {
    const files = await readTree(join(root, entry.dir));
    return {
      source: `builtin:${name}`,
      commit: entry.commit,
      version: entry.version,
      manifest: readManifest(files, `built-in template ${name}`),
      files,
    };
  }
  return {
    async fetch(spec) {
      const list = await versions(spec.name);
      if (spec.version === undefined) return load(spec.name, list[list.length - 1] as BuiltinVersion);
      // `1.2.0`, `v1.2.0` and `template/react@1.2.0` all name the same shipped version.
      const wanted = spec.version;
      const entry = versionOf(wanted)
        ? list.find((candidate) => compareVersions(candidate.version, wanted) === 0)
        : undefined;
      if (!entry) {
        const known = list.map((v) => v.version);
        throw new ReynaError('E_TEMPLATE_REF_NOT_FOUND', `Built-in template ${spec.name} has no version "${wanted}"`, {
          hint: `This reyna ships ${spec.name} ${known.join(', ')}: pass one of them, or leave the version out for the newest.`,
          details: { ref: wanted, known },
        });
      }
      return load(spec.name, entry);
    },
    async fetchExact(spec, at) {
      const list = await versions(spec.name);
      const entry =
        list.find((candidate) => at.commit !== undefined && candidate.commit === at.commit) ??
        list.find((candidate) => at.version !== undefined && candidate.version === at.version);
      if (!entry) {
        throw new ReynaError(
          'E_UPGRADE_BASE_MISSING',
          `This reyna does not ship built-in template ${spec.name} at ${at.version ?? at.commit ?? 'the recorded version'}`,
          {
            hint: `It ships ${list.map((v) => v.version).join(', ')}. Use the reyna version the app was made with, or merge by hand.`,
          },
        );
      }
      return load(spec.name, entry);
    },
    async latestRef(spec) {
      const list = await versions(spec.name);
      return list[list.length - 1]?.version;
    },
  };
}
