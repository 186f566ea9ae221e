import { type FileTree, isText } from '../_fs.js';
import type { TemplateManifest } from '../protocol/config.js';

/** Files a template keeps for itself and never hands to an app. */
const TEMPLATE_ONLY = new Set(['template.json']);

/**
 * Turns a template's files into an app's files: fills declared `{{placeholders}}`, names package.json,
 * restores dotfiles that npm would strip (`_gitignore` → `.gitignore`). Pure, so upgrade can apply the very
 * same transform to the old and the new template before merging.
 */
export function instantiate(
  files: FileTree,
  manifest: TemplateManifest | undefined,
  values: Record<string, string>,
): FileTree {
  const out: FileTree = new Map();
  const keys = (manifest?.placeholders ?? []).map((p) => p.name).filter((key) => values[key] !== undefined);
  const pattern = keys.length ? new RegExp(`\\{\\{\\s*(${keys.join('|')})\\s*\\}\\}`, 'g') : undefined;
  for (const [path, entry] of files) {
    if (TEMPLATE_ONLY.has(path)) continue;
    const target = path.replace(/(^|\/)_gitignore$/, '$1.gitignore');
    let data = entry.data;
    if (pattern && isText(data)) {
      const text = data.toString('utf8');
      const filled = text.replace(pattern, (_match, key: string) => values[key] as string);
      if (filled !== text) data = Buffer.from(filled, 'utf8');
    }
    if (target === 'package.json' && values.name !== undefined) data = renamePackage(data, values.name);
    out.set(target, { data, mode: entry.mode });
  }
  return out;
}

function renamePackage(data: Buffer, name: string): Buffer {
  try {
    const json = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return data;
    // Keep `name` first, where npm puts it.
    const { name: _old, ...rest } = json;
    return Buffer.from(`${JSON.stringify({ name, ...rest }, null, 2)}\n`, 'utf8');
  } catch {
    return data;
  }
}
