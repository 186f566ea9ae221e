const VERSION = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$/;

/** Parses the version out of `1.2.3`, `v1.2`, `v1` or `template/react@1.2.3`; undefined when it is not one. */
export function versionOf(tag: string): [number, number, number, string] | undefined {
  const match = VERSION.exec(tag.slice(tag.lastIndexOf('@') + 1));
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0), match[4] ?? ''];
}

export function compareVersions(a: string, b: string): number {
  const va = versionOf(a);
  const vb = versionOf(b);
  if (!va || !vb) return va ? 1 : vb ? -1 : 0;
  for (let i = 0; i < 3; i++) {
    const diff = (va[i] as number) - (vb[i] as number);
    if (diff !== 0) return diff;
  }
  // A pre-release sorts before its release.
  if (va[3] === vb[3]) return 0;
  if (va[3] === '') return 1;
  if (vb[3] === '') return -1;
  return va[3] < vb[3] ? -1 : 1;
}

/**
 * The newest version tag, preferring tags of this template (`template/<name>@x.y.z`) when the repository has any,
 * else plain `vX.Y.Z` / `X.Y.Z` tags.
 */
export function newestTag(tags: readonly string[], templateName?: string): string | undefined {
  const own = templateName ? tags.filter((tag) => tag.startsWith(`template/${templateName}@`)) : [];
  const pool = own.length > 0 ? own : tags.filter((tag) => VERSION.test(tag));
  return [...pool].sort(compareVersions).pop();
}
