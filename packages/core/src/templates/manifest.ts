import type { FileTree } from '../_fs.js';
import { ReynaError } from '../errors.js';
import { TemplateManifest } from '../protocol/config.js';

/** Reads and validates `template.json`, if the template has one. */
export function readManifest(files: FileTree, where: string): TemplateManifest | undefined {
  const entry = files.get('template.json');
  if (!entry) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(entry.data.toString('utf8'));
  } catch (error) {
    throw new ReynaError(
      'E_TEMPLATE_INVALID',
      `template.json in ${where} is not valid JSON: ${(error as Error).message}`,
      {
        hint: 'Fix template.json in the template, or remove it to copy the files as they are.',
      },
    );
  }
  const parsed = TemplateManifest.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ReynaError('E_TEMPLATE_INVALID', `template.json in ${where} is invalid: ${issues.join('; ')}`, {
      hint: 'template.json takes name, description, version (semver), placeholders (keys, or {name, description, default}) and spa.',
      details: { issues },
    });
  }
  return parsed.data;
}
