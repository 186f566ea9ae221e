import { describe, expect, it } from 'vitest';
import type { FileTree } from '../_fs.js';
import { instantiate } from './instantiate.js';
import { newestTag } from './semver.js';

const tree = (files: Record<string, string | Buffer>): FileTree =>
  new Map(Object.entries(files).map(([path, data]) => [path, { data: Buffer.from(data), mode: 0o644 }]));
const text = (files: FileTree, path: string) => files.get(path)?.data.toString();

describe('instantiate', () => {
  const manifest = {
    name: 't',
    description: '',
    version: '1.0.0',
    placeholders: [{ name: 'name' }, { name: 'title' }],
    spa: false,
  };

  it('fills declared placeholders only, and leaves {{APP_ID}} for deploy time', () => {
    const out = instantiate(
      tree({ 'index.html': '<title>{{ title }}</title>{{name}} {{APP_ID}} {{other}}' }),
      manifest,
      { name: 'my-app', title: 'Hello' },
    );
    expect(text(out, 'index.html')).toBe('<title>Hello</title>my-app {{APP_ID}} {{other}}');
  });

  it('drops template.json, names package.json and restores .gitignore', () => {
    const out = instantiate(
      tree({
        'template.json': '{}',
        'package.json': '{"private":true,"name":"tpl"}',
        _gitignore: 'dist',
        'a/_gitignore': 'x',
      }),
      manifest,
      { name: 'my-app', title: 'x' },
    );
    expect([...out.keys()].sort()).toEqual(['.gitignore', 'a/.gitignore', 'package.json']);
    expect(JSON.parse(text(out, 'package.json') as string)).toEqual({ name: 'my-app', private: true });
  });

  it('copies a template without template.json as it is, and never touches binary files', () => {
    const binary = Buffer.from([0, 123, 123, 110, 97, 109, 101, 125, 125]);
    const out = instantiate(tree({ 'a.txt': '{{name}}', 'b.bin': binary }), undefined, { name: 'x' });
    expect(text(out, 'a.txt')).toBe('{{name}}');
    const withManifest = instantiate(tree({ 'b.bin': binary }), manifest, { name: 'x', title: 'y' });
    expect(withManifest.get('b.bin')?.data.equals(binary)).toBe(true);
  });
});

describe('newestTag', () => {
  it('orders by semver, pre-releases before releases, and prefers the template’s own tags', () => {
    expect(newestTag(['v1.2.0', 'v1.10.0', 'v1.9.9', 'junk'])).toBe('v1.10.0');
    expect(newestTag(['2.0.0-beta.1', '1.9.0'])).toBe('2.0.0-beta.1');
    expect(newestTag(['2.0.0-beta.1', '2.0.0'])).toBe('2.0.0');
    expect(newestTag(['v9.0.0', 'template/react@1.1.0', 'template/vanilla@3.0.0'], 'react')).toBe(
      'template/react@1.1.0',
    );
    expect(newestTag(['main', 'latest'])).toBeUndefined();
  });
});
