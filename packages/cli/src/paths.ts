import { fileURLToPath } from 'node:url';

/** The built-in templates shipped in this package (`dist/templates`, written by scripts/bundle-templates.mjs). */
export const builtinTemplatesDir = fileURLToPath(new URL('./templates/', import.meta.url));
