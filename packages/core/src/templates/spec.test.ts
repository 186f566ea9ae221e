import { describe, expect, it } from 'vitest';
import { parseTemplateSpec } from './spec.js';

const builtins = ['react', 'vanilla'];
const parse = (spec: string) => parseTemplateSpec(spec, '/work/here', builtins);

describe('parseTemplateSpec', () => {
  it('reads built-in names', () => {
    expect(parse('react')).toEqual({ kind: 'builtin', name: 'react' });
    expect(parse('reakt')).toEqual({ kind: 'builtin', name: 'reakt' });
  });

  it('reads local directories, relative to cwd', () => {
    expect(parse('./tpl')).toEqual({ kind: 'dir', path: '/work/here/tpl' });
    expect(parse('/abs/tpl')).toEqual({ kind: 'dir', path: '/abs/tpl' });
  });

  it('reads local git repositories with a ref', () => {
    expect(parse('../repo#v2')).toEqual({ kind: 'git', url: '/work/repo', ref: 'v2' });
    expect(parse('/srv/tpl.git')).toEqual({ kind: 'git', url: '/srv/tpl.git', ref: undefined });
  });

  it('reads git URLs with subdirectory and ref', () => {
    expect(parse('git+file:///tmp/tpl.git#v1.2.0')).toEqual({ kind: 'git', url: 'file:///tmp/tpl.git', ref: 'v1.2.0' });
    expect(parse('https://host/org/repo.git/templates/react#main')).toEqual({
      kind: 'git',
      url: 'https://host/org/repo.git',
      subdir: 'templates/react',
      ref: 'main',
    });
    expect(parse('git@host:org/repo.git#dev')).toEqual({ kind: 'git', url: 'git@host:org/repo.git', ref: 'dev' });
  });

  it('reads github shorthands', () => {
    expect(parse('github:org/repo/sub/dir#tag')).toEqual({
      kind: 'git',
      url: 'https://github.com/org/repo.git',
      subdir: 'sub/dir',
      ref: 'tag',
    });
    expect(parse('github:org/repo')).toEqual({
      kind: 'git',
      url: 'https://github.com/org/repo.git',
      subdir: undefined,
      ref: undefined,
    });
  });

  it('rejects what cannot be a template', () => {
    expect(() => parse('')).toThrow(expect.objectContaining({ code: 'E_TEMPLATE_SPEC' }));
    expect(() => parse('github:nope')).toThrow(expect.objectContaining({ code: 'E_TEMPLATE_SPEC' }));
    expect(() => parse('react#v1')).toThrow(expect.objectContaining({ code: 'E_TEMPLATE_SPEC' }));
    expect(() => parse('https://host/repo.git/../etc#x')).toThrow(expect.objectContaining({ code: 'E_TEMPLATE_SPEC' }));
  });
});
