// Publishes reyna.json's JSON Schema next to the package so editors can complete the file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { reynaJsonSchema } from '../dist/protocol/index.js';

const out = new URL('../schema/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('reyna.schema.json', out), `${JSON.stringify(reynaJsonSchema(), null, 2)}\n`);
