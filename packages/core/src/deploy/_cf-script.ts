import type { appIdBinding } from '../inject/index.js';
import { type EncodedForm, encodeMultipart } from './_multipart.js';

export const MODULE_TYPE = 'application/javascript+module';

export interface AssetsConfig {
  html_handling: 'auto-trailing-slash' | 'force-trailing-slash' | 'drop-trailing-slash' | 'none';
  not_found_handling: 'single-page-application' | '404-page' | 'none';
  run_worker_first: string[] | boolean;
}

export type WorkerBinding = ReturnType<typeof appIdBinding> | { type: 'assets'; name: 'ASSETS' };

/** The `metadata` part of a script or version upload, in the Workers API's shape. */
export interface WorkerMetadata {
  main_module: string;
  compatibility_date: string;
  compatibility_flags: string[];
  bindings: WorkerBinding[];
  assets: { jwt: string; config: AssetsConfig };
  annotations: { 'workers/message'?: string; 'workers/tag': string };
}

export interface WorkerModule {
  name: string;
  contentType: string;
  bytes: Uint8Array;
}

/**
 * The body of `PUT …/workers/scripts/{name}` and `POST …/scripts/{name}/versions`: a `metadata` field holding
 * JSON, then one file part per module named by its path. Built here, not by the SDK (v7 mis-encodes it).
 */
export function scriptUploadForm(metadata: WorkerMetadata, modules: WorkerModule[]): EncodedForm {
  return encodeMultipart([
    { name: 'metadata', contentType: 'application/json', body: JSON.stringify(metadata) },
    ...modules.map((module) => ({
      name: module.name,
      filename: module.name,
      contentType: module.contentType,
      body: module.bytes,
    })),
  ]);
}
