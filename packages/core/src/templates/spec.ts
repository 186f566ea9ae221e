import { isAbsolute, resolve } from 'node:path';
import { ReynaError } from '../errors.js';

/** What a user typed after `--template`, understood. */
export type TemplateSpec =
  | {
      kind: 'builtin';
      name: string /** One of the versions this reyna ships; default: the newest. */;
      version?: string;
    }
  | { kind: 'dir'; path: string }
  | { kind: 'git'; url: string; subdir?: string; ref?: string };

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCP_RE = /^[\w.-]+@[\w.-]+:/;

function splitRef(text: string): [string, string | undefined] {
  const hash = text.lastIndexOf('#');
  if (hash === -1) return [text, undefined];
  const ref = text.slice(hash + 1);
  return [text.slice(0, hash), ref === '' ? undefined : ref];
}

function cleanSubdir(subdir: string | undefined): string | undefined {
  const clean = subdir?.replace(/^\/+|\/+$/g, '');
  if (!clean) return undefined;
  if (clean.split('/').some((part) => part === '..' || part === '.')) {
    throw new ReynaError('E_TEMPLATE_SPEC', `The template subdirectory "${subdir}" may not contain "." or ".."`, {
      hint: 'Name the directory inside the repository, e.g. `github:org/repo/templates/react`.',
    });
  }
  return clean;
}

/** Splits `…/repo.git/sub/dir` into the repository URL and the subdirectory. */
function splitDotGit(location: string): { url: string; subdir?: string } {
  const match = /^(.*?\.git)(?:\/(.*))?$/.exec(location);
  if (match?.[1]) return { url: match[1], subdir: cleanSubdir(match[2]) };
  return { url: location };
}

/**
 * Parses a template spec: a built-in name (`react`), a local directory, or a git repository with optional
 * subdirectory and ref (`git+file:///tmp/tpl.git#v1.2.0`, `https://host/org/repo.git/templates/react#main`,
 * `github:org/repo/sub#tag`, `./path/to/repo#v2`).
 */
export function parseTemplateSpec(input: string, cwd: string, builtinNames: readonly string[]): TemplateSpec {
  const text = input.trim();
  if (text === '') {
    throw new ReynaError('E_TEMPLATE_SPEC', 'The template spec is empty', {
      hint: `Pass --template with one of: ${builtinNames.join(', ')}, a directory or a git URL.`,
    });
  }
  const github = /^(?:github:|gh:)([\w.-]+)\/([\w.-]+?)(?:\.git)?(\/[^#]*)?(?:#(.*))?$/.exec(text);
  if (github) {
    return {
      kind: 'git',
      url: `https://github.com/${github[1]}/${github[2]}.git`,
      subdir: cleanSubdir(github[3]),
      ref: github[4] || undefined,
    };
  }
  if (text.startsWith('github:') || text.startsWith('gh:')) {
    throw new ReynaError('E_TEMPLATE_SPEC', `"${text}" is not a GitHub spec`, {
      hint: 'Write it as `github:org/repo[/subdir][#ref]`.',
    });
  }
  const withoutPrefix = text.startsWith('git+') ? text.slice(4) : text;
  if (URL_RE.test(withoutPrefix) || SCP_RE.test(withoutPrefix)) {
    const [location, ref] = splitRef(withoutPrefix);
    return { kind: 'git', ...splitDotGit(location), ref };
  }
  const looksLikePath = /^(\.{1,2}|~)?[/\\]/.test(text) || text.includes('/') || text === '.' || text === '..';
  if (looksLikePath) {
    const [location, ref] = splitRef(text);
    const absolute = isAbsolute(location) ? location : resolve(cwd, location);
    if (ref !== undefined || /\.git\/?$/.test(location)) {
      return { kind: 'git', url: absolute, ref };
    }
    return { kind: 'dir', path: absolute };
  }
  const [name, ref] = splitRef(text);
  if (ref !== undefined) {
    throw new ReynaError('E_TEMPLATE_SPEC', `Built-in template "${name}" takes no ref`, {
      hint: 'Built-in templates come with this version of reyna; use a git URL to pick a version.',
    });
  }
  return { kind: 'builtin', name };
}

/** The canonical source string recorded in reyna.json. */
export function specSource(spec: TemplateSpec): string {
  switch (spec.kind) {
    case 'builtin':
      return `builtin:${spec.name}`;
    case 'dir':
      return `dir:${spec.path}`;
    case 'git':
      return spec.url;
  }
}

/** Rebuilds a spec from what reyna.json recorded. */
export function specFromRecord(source: string, subdir: string | undefined, ref: string | undefined): TemplateSpec {
  if (source.startsWith('builtin:')) return { kind: 'builtin', name: source.slice('builtin:'.length) };
  if (source.startsWith('dir:')) return { kind: 'dir', path: source.slice('dir:'.length) };
  return { kind: 'git', url: source, subdir, ref };
}
