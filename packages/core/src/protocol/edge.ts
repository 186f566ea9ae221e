// Wire types of the studio server's local edge: deploying an app's build to the server's workerd host, listing
// what it served, and rolling back. The blobs themselves travel through /v1/blobs/missing and /v1/blobs/batch.
import { z } from 'zod';
import { DeploymentStatus, Sha256 } from './api.js';

/** The most static files one edge deployment holds (Cloudflare's Paid limit). */
export const EDGE_MAX_FILES = 100_000;
/** The most Worker modules one edge deployment holds. */
export const EDGE_MAX_MODULES = 1_000;

export const EdgeFile = z.object({ sha256: Sha256, size: z.number().int().min(0) }).strict();
export type EdgeFile = z.infer<typeof EdgeFile>;

const ServedPath = z
  .string()
  .regex(/^\/[^\0\\]*$/, 'a path starting with "/"')
  .max(1024);
const ModuleName = z
  .string()
  .regex(/^[^/\0\\][^\0\\]*\.(?:m?js|wasm)$/, 'a relative .js, .mjs or .wasm module name')
  .max(512);

export const EdgeDeployRequest = z
  .object({
    files: z
      .record(ServedPath, EdgeFile)
      .refine((files) => Object.keys(files).length <= EDGE_MAX_FILES, `at most ${EDGE_MAX_FILES} files`)
      .describe('Served path → blob; HTML already carries the APP_ID'),
    modules: z
      .record(ModuleName, EdgeFile)
      .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= EDGE_MAX_MODULES, '1 to 1000 modules')
      .describe('Worker module name → blob'),
    mainModule: ModuleName,
    spa: z.boolean().default(true).describe('Serve index.html for paths with no file'),
    runWorkerFirst: z.array(z.string().regex(/^!?\//).max(256)).max(100).default(['/api/*']),
    compatibilityDate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .default('2026-04-01'),
    compatibilityFlags: z.array(z.string().max(100)).max(50).default([]),
    message: z.string().max(1000).optional(),
    /** What the client uploaded for this deploy and how long it took so far, for the deployment record. */
    bytesUploaded: z.number().int().min(0).default(0),
    durationMs: z.number().int().min(0).default(0),
  })
  .strict()
  .refine((r) => r.mainModule in r.modules, { message: 'mainModule must be one of modules', path: ['mainModule'] });
export type EdgeDeployRequest = z.input<typeof EdgeDeployRequest>;

export const EdgeRollbackRequest = z
  .object({
    deployment: z.string().max(200).optional().describe('A deployment id or version id; default: the one before'),
    message: z.string().max(1000).optional(),
  })
  .strict();
export type EdgeRollbackRequest = z.input<typeof EdgeRollbackRequest>;

export const EdgeDeployment = z
  .object({
    id: z.string().describe('The deployment record id'),
    appId: z.string(),
    versionId: z.string().describe('Digest of what is served: the same content is the same version'),
    url: z.string(),
    status: DeploymentStatus,
    active: z.boolean().describe('True for the deployment serving now'),
    message: z.string().optional(),
    rollbackOf: z.string().optional().describe('For a rollback: the deployment it restored'),
    files: z.number().int(),
    bytes: z.number().int(),
    bytesUploaded: z.number().int(),
    durationMs: z.number().int(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'EdgeDeployment' });
export type EdgeDeployment = z.infer<typeof EdgeDeployment>;

export const EdgeDeploymentList = z.object({ deployments: z.array(EdgeDeployment) });
export type EdgeDeploymentList = z.infer<typeof EdgeDeploymentList>;

export const EdgeInfo = z.object({ url: z.string().describe('http://localhost:<edge-port>'), port: z.number().int() });
export type EdgeInfo = z.infer<typeof EdgeInfo>;
