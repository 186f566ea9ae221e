import { createRequire } from 'node:module';
import type * as Oclif from '@oclif/core';

/**
 * oclif, as every command and the binary load it: `dist/_oclif.cjs`, @oclif/core and its dependencies bundled
 * into one file at build time (scripts/bundle-oclif.mjs), which loads in ~50 ms instead of ~135 ms for the 113
 * files it replaces (each one resolved, read and compiled on every command). Before that step has run (tests of
 * the sources, a bare `tsc`), the package itself.
 */
function load(): typeof Oclif {
  const require = createRequire(import.meta.url);
  try {
    return require('./_oclif.cjs');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code !== 'MODULE_NOT_FOUND' || !e.message.includes('_oclif.cjs')) throw error;
    return require('@oclif/core');
  }
}

export const { Args, Command, Config, Errors, Flags, Help, Plugin, execute, loadHelpClass, settings } = load();
export type { Hook, Interfaces } from '@oclif/core';
