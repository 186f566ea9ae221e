import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, reyna, tempDir } from './_reyna.js';

function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      // What a build or an install leaves behind (the repo's .gitignore) is not part of the example.
      if (['node_modules', 'dist', '.reyna', '.turbo'].includes(name) || name.endsWith('.tsbuildinfo')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(root, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(root);
  return out;
}

describe('examples/', () => {
  it('react-app is exactly what `reyna init --template react` makes today (but for the recorded commit)', async () => {
    const home = tempDir();
    const made = await reyna(['init', 'react-app', '--template', 'react', '--no-install', '--no-git'], {
      cwd: home,
      home,
    });
    expect(made.code, made.stderr).toBe(0);
    const fresh = tree(join(home, 'react-app'));
    const example = tree(join(repoRoot, 'examples/react-app'));
    const config = (files: Record<string, string>) => {
      const { template, ...rest } = JSON.parse(files['reyna.json'] as string);
      const { commit: _commit, ...where } = template;
      return { ...rest, template: where };
    };
    expect(config(example)).toEqual(config(fresh));
    delete fresh['reyna.json'];
    delete example['reyna.json'];
    expect(example).toEqual(fresh);
  });
});
