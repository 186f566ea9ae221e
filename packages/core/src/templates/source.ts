import type { FileTree } from '../_fs.js';
import type { TemplateManifest } from '../protocol/config.js';
import type { TemplateSpec } from './spec.js';

/** A template at one exact version: its files and what we know of where they came from. */
export interface TemplateSnapshot {
  source: string;
  subdir?: string;
  ref?: string;
  commit?: string;
  version?: string;
  manifest?: TemplateManifest;
  files: FileTree;
}

export interface FetchOptions {
  /** Use only the local cache; fail if the template is not in it. */
  offline?: boolean;
  /** Use the cache when it already has the ref; fetch otherwise. */
  preferOffline?: boolean;
  signal?: AbortSignal;
}

/** Where templates come from. One implementation per kind of spec under `adapters/`. */
export interface TemplateSource<S extends TemplateSpec = TemplateSpec> {
  /** Fetches the template at the spec's ref (or the default one). */
  fetch(spec: S, options: FetchOptions): Promise<TemplateSnapshot>;
  /** Fetches the template at an exact recorded commit (or version), for the base of an upgrade. */
  fetchExact(spec: S, at: { commit?: string; version?: string }, options: FetchOptions): Promise<TemplateSnapshot>;
  /** The newest version a spec can be upgraded to when no `--to` is given. */
  latestRef(spec: S, options: FetchOptions): Promise<string | undefined>;
}
