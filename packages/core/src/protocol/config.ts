import { z } from 'zod';

/** Where an app came from: everything `reyna upgrade` needs for a three-way merge. */
export const TemplateRecord = z
  .object({
    source: z.string().min(1).describe('Template source: "builtin:react", "dir:/abs/path" or a git URL'),
    subdir: z.string().optional().describe('Directory of the template inside the source'),
    ref: z.string().optional().describe('The ref asked for (tag, branch or commit)'),
    commit: z.string().optional().describe('The exact commit the app was made from'),
    version: z.string().optional().describe("The template's semver version"),
    values: z.record(z.string(), z.string()).optional().describe('Placeholder values the template was filled with'),
  })
  .strict();
export type TemplateRecord = z.infer<typeof TemplateRecord>;

export const BuildConfig = z
  .object({
    outDir: z.string().default('dist').describe('Build output directory'),
    worker: z.string().default('worker/index.ts').describe('Worker entry module'),
    command: z.string().optional().describe('Replaces the built-in build with this shell command'),
    plan: z
      .enum(['free', 'paid'])
      .optional()
      .describe('Cloudflare plan whose limits the build is checked against (default free)'),
    limits: z
      .object({
        workerGzipBytes: z.number().int().positive().optional(),
        assetBytes: z.number().int().positive().optional(),
        files: z.number().int().positive().optional(),
      })
      .strict()
      .optional()
      .describe("Overrides of the plan's limits, as the platform raises them"),
  })
  .strict();

export const DeployConfig = z
  .object({
    target: z.enum(['local', 'cloudflare']).default('local'),
    accountId: z.string().optional().describe('Cloudflare account id'),
    workerName: z.string().optional(),
    compatibilityDate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2026-11-01')
      .optional(),
    routes: z.array(z.string()).optional(),
  })
  .strict();

const appName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes, starting with a letter or digit');

/** `reyna.json`, the one file that makes a directory a Reyna app. */
export const ReynaConfig = z
  .object({
    $schema: z.string().optional(),
    name: appName.describe('App name: lowercase letters, digits and dashes'),
    appId: z.string().optional().describe('Public APP_ID, set once the app exists on a studio server'),
    template: TemplateRecord.optional(),
    build: BuildConfig.optional(),
    deploy: DeployConfig.optional(),
    server: z.url().optional().describe('Studio server URL'),
  })
  .strict();
export type ReynaConfig = z.infer<typeof ReynaConfig>;

export const AppName = appName;

const placeholderKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _, not starting with a digit');

/** A `{{key}}` a template uses: just its key, or the key with what to ask and a default. Read as the object form. */
export const Placeholder = z
  .union([
    placeholderKey,
    z
      .object({
        name: placeholderKey,
        description: z.string().optional().describe('What to ask for at init'),
        default: z.string().optional().describe('The value when none is given'),
      })
      .strict(),
  ])
  .transform((p) => (typeof p === 'string' ? { name: p } : p));
export type Placeholder = z.infer<typeof Placeholder>;

/** `template.json` at a template's root. Optional: without it a directory is copied as it is. */
export const TemplateManifest = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semver version like 1.2.0'),
    placeholders: z
      .array(Placeholder)
      .default([])
      .describe('Names used as {{name}} in the files; each is asked for at init'),
    spa: z.boolean().default(false).describe('Serve index.html for unknown paths'),
  })
  .strict();
export type TemplateManifest = z.infer<typeof TemplateManifest>;

export { LEGACY_SCHEMA_URL, SCHEMA_FILE, SCHEMA_REF } from './constants.js';

/** JSON Schema of reyna.json, for editors (and for reading reyna.json without zod, see config.ts). */
export function reynaJsonSchema(): Record<string, unknown> {
  return { title: 'reyna.json', ...z.toJSONSchema(ReynaConfig, { io: 'input', target: 'draft-7' }) };
}

/** The text of reyna.schema.json, the JSON Schema an app's reyna.json refers to. */
export function serializeSchema(): string {
  return `${JSON.stringify(reynaJsonSchema(), null, 2)}\n`;
}
