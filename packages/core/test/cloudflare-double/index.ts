/**
 * A local double of the Workers API endpoints Reyna's cloudflare target uses. It checks every request as strictly
 * as the real API (auth, account, content types, required fields, asset hashes against their content, upload and
 * completion tokens), records versions and deployments, and serves the deployed Worker with its assets in
 * workerd (Miniflare), one port per Worker. Faults can be injected per test. Test code: not shipped.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';
import type { Miniflare } from 'miniflare';

export type Fault =
  /** Answers 429 with `Retry-After: seconds`, without handling the request. */
  | { kind: '429'; retryAfter: number }
  /** Answers 500; with `after`, only once the request has been handled (its effects happened). */
  | { kind: '500'; after?: boolean }
  /** Waits `ms` before answering; with `after`, handles the request first, otherwise handles it after the wait. */
  | { kind: 'slow'; ms: number; after?: boolean }
  /** Expires the upload token the request carries, before handling it. */
  | { kind: 'expire-upload-jwt' };

interface FaultRule {
  method?: string;
  path: RegExp;
  times: number;
  fault: Fault;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
}

interface Token {
  kind: 'upload' | 'completion';
  account: string;
  script: string;
  manifest: Record<string, { hash: string; size: number }>;
  expiresAt: number;
}

export interface DoubleVersion {
  id: string;
  number: number;
  createdOn: string;
  annotations: Record<string, string>;
  metadata: Record<string, unknown>;
  modules: { name: string; type: string; bytes: Uint8Array }[];
  assets: Record<string, { hash: string; size: number }>;
}

export interface DoubleDeployment {
  id: string;
  createdOn: string;
  versions: { version_id: string; percentage: number }[];
  annotations: Record<string, string>;
}

interface Script {
  name: string;
  versions: DoubleVersion[];
  deployments: DoubleDeployment[];
  workersDev: boolean;
  /** Asset bytes (base64, as uploaded) and the type they were uploaded with, by hash. */
  assets: Map<string, { base64: string; contentType: string }>;
}

interface Account {
  subdomain: string | undefined;
  scripts: Map<string, Script>;
}

class Reject extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MODULE_TYPES = new Set(['application/javascript+module', 'text/javascript+module', 'application/wasm']);
const HTML_HANDLING = new Set(['auto-trailing-slash', 'force-trailing-slash', 'drop-trailing-slash', 'none']);
const NOT_FOUND = new Set(['single-page-application', '404-page', 'none']);
const HASH = /^[0-9a-f]{32}$/;

export function cloudflareHashOfBase64(base64: string, path: string): string {
  return Buffer.from(blake3(Buffer.from(base64 + extname(path).slice(1))))
    .toString('hex')
    .slice(0, 32);
}

export interface DoubleOptions {
  apiToken: string;
  accountId: string;
  /** The account's workers.dev subdomain; undefined models an account that never chose one. */
  subdomain?: string;
  /** Hashes per bucket in an upload session's answer (default 2, so a small app needs several). */
  bucketSize?: number;
  /** Lifetime of upload tokens in ms (default 1 h, as Cloudflare's). */
  uploadJwtMs?: number;
}

export interface CloudflareDouble {
  /** Base URL for the SDK: `http://127.0.0.1:<port>/client/v4`. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Hashes accepted by `assets/upload`, in order, across all deploys. */
  uploadedHashes: string[];
  fault(rule: { method?: string; path: RegExp; times?: number } & Fault): void;
  versions(script: string): DoubleVersion[];
  deployments(script: string): DoubleDeployment[];
  /** Fetches `https://<script>.<subdomain>.workers.dev/...` from the workerd serving that Worker. */
  fetchDeployed(url: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

function envelope(result: unknown) {
  return { success: true, errors: [], messages: [], result };
}

export async function startCloudflareDouble(options: DoubleOptions): Promise<CloudflareDouble> {
  const accounts = new Map<string, Account>([
    [options.accountId, { subdomain: options.subdomain, scripts: new Map() }],
  ]);
  const tokens = new Map<string, Token>();
  const faults: FaultRule[] = [];
  const requests: RecordedRequest[] = [];
  const uploadedHashes: string[] = [];
  const root = await mkdtemp(join(tmpdir(), 'reyna-cf-double-'));
  const served = new Map<string, { mf: Miniflare; port: number; versionId: string }>();
  let serving: Promise<void> = Promise.resolve();

  function newToken(token: Omit<Token, 'expiresAt'>, ms: number): string {
    const jwt = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ kind: token.kind, sub: token.script }),
    ).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
    tokens.set(jwt, { ...token, expiresAt: Date.now() + ms });
    return jwt;
  }

  function bearer(req: IncomingMessage): string | undefined {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return match?.[1];
  }

  function account(id: string, req: IncomingMessage): Account {
    if (bearer(req) !== options.apiToken) throw new Reject(401, 10000, 'Authentication error');
    const found = accounts.get(id);
    // Cloudflare answers a token that cannot see an account the same way as an account that does not exist.
    if (!found) throw new Reject(403, 10000, 'Authentication error');
    return found;
  }

  function script(acct: Account, name: string): Script {
    const found = acct.scripts.get(name);
    if (!found) throw new Reject(404, 10007, 'This Worker does not exist on your account.');
    return found;
  }

  function json(req: IncomingMessage, body: Buffer): Record<string, unknown> {
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      throw new Reject(400, 10002, 'Content-Type must be application/json');
    }
    try {
      const value = JSON.parse(body.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
      return value;
    } catch {
      throw new Reject(400, 10002, 'Could not parse the request body as JSON');
    }
  }

  async function form(req: IncomingMessage, body: Buffer): Promise<FormData> {
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data;\s*boundary=/.test(type)) {
      throw new Reject(400, 10021, 'Content-Type must be multipart/form-data');
    }
    try {
      return await new Response(body, { headers: { 'content-type': type } }).formData();
    } catch {
      throw new Reject(400, 10021, 'Malformed multipart body');
    }
  }

  /** The checks `PUT script` and `POST versions` share; returns the version to record. */
  async function parseWorker(
    acctId: string,
    name: string,
    data: FormData,
  ): Promise<Omit<DoubleVersion, 'id' | 'number' | 'createdOn'>> {
    const raw = data.get('metadata');
    if (raw === null) throw new Reject(400, 10021, 'Missing metadata part');
    let metadata: Record<string, unknown>;
    try {
      metadata = JSON.parse(typeof raw === 'string' ? raw : await raw.text());
    } catch {
      throw new Reject(400, 10021, 'metadata is not JSON');
    }
    const main = metadata.main_module;
    if (typeof main !== 'string') throw new Reject(400, 10021, 'metadata.main_module is required');
    if (typeof metadata.compatibility_date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(metadata.compatibility_date)) {
      throw new Reject(400, 10021, 'metadata.compatibility_date must be YYYY-MM-DD');
    }
    const modules: DoubleVersion['modules'] = [];
    for (const [field, value] of data.entries()) {
      if (field === 'metadata') continue;
      if (typeof value === 'string') throw new Reject(400, 10021, `Part ${field} must be a file part`);
      const type = value.type.split(';')[0]?.trim() ?? '';
      if (!MODULE_TYPES.has(type))
        throw new Reject(400, 10021, `Part ${field} has an unsupported content type "${value.type}"`);
      modules.push({ name: field, type, bytes: new Uint8Array(await value.arrayBuffer()) });
    }
    const mainModule = modules.find((m) => m.name === main);
    if (!mainModule) throw new Reject(400, 10021, `No part for main_module "${main}"`);
    if (mainModule.type === 'application/wasm') throw new Reject(400, 10021, 'main_module must be JavaScript');
    const bindings = metadata.bindings;
    if (!Array.isArray(bindings)) throw new Reject(400, 10021, 'metadata.bindings must be an array');
    const names = new Set<string>();
    let assetsBinding = false;
    for (const binding of bindings as Record<string, unknown>[]) {
      if (typeof binding?.name !== 'string' || !binding.name) throw new Reject(400, 10021, 'A binding has no name');
      if (names.has(binding.name)) throw new Reject(400, 10021, `Binding ${binding.name} appears twice`);
      names.add(binding.name);
      if (binding.type === 'plain_text') {
        if (typeof binding.text !== 'string')
          throw new Reject(400, 10021, `plain_text binding ${binding.name} needs text`);
      } else if (binding.type === 'assets') {
        assetsBinding = true;
      } else {
        throw new Reject(400, 10021, `Unknown binding type ${String(binding.type)}`);
      }
    }
    const assets = metadata.assets as { jwt?: unknown; config?: Record<string, unknown> } | undefined;
    let manifest: DoubleVersion['assets'] = {};
    if (assetsBinding && !assets) throw new Reject(400, 10021, 'An assets binding needs metadata.assets');
    if (assets) {
      const token = typeof assets.jwt === 'string' ? tokens.get(assets.jwt) : undefined;
      if (token?.kind !== 'completion' || token.account !== acctId || token.script !== name) {
        throw new Reject(400, 10021, 'metadata.assets.jwt is not a valid completion token for this Worker');
      }
      if (token.expiresAt < Date.now()) throw new Reject(400, 10021, 'metadata.assets.jwt has expired');
      const config = assets.config ?? {};
      if (config.html_handling !== undefined && !HTML_HANDLING.has(String(config.html_handling))) {
        throw new Reject(400, 10021, 'Invalid assets.config.html_handling');
      }
      if (config.not_found_handling !== undefined && !NOT_FOUND.has(String(config.not_found_handling))) {
        throw new Reject(400, 10021, 'Invalid assets.config.not_found_handling');
      }
      const first = config.run_worker_first;
      if (
        first !== undefined &&
        typeof first !== 'boolean' &&
        !(Array.isArray(first) && first.every((r) => typeof r === 'string' && /^!?\//.test(r)))
      ) {
        throw new Reject(400, 10021, 'Invalid assets.config.run_worker_first');
      }
      manifest = token.manifest;
    }
    const annotations = (metadata.annotations ?? {}) as Record<string, string>;
    return { annotations, metadata, modules, assets: manifest };
  }

  function newVersion(target: Script, parsed: Omit<DoubleVersion, 'id' | 'number' | 'createdOn'>): DoubleVersion {
    const version: DoubleVersion = {
      id: randomUUID(),
      number: target.versions.length + 1,
      createdOn: new Date(Date.now() + target.versions.length).toISOString(),
      ...parsed,
    };
    target.versions.push(version);
    return version;
  }

  function versionJson(v: DoubleVersion) {
    return {
      id: v.id,
      number: v.number,
      metadata: { created_on: v.createdOn, modified_on: v.createdOn, source: 'api', author_email: 'test@example.com' },
      annotations: v.annotations,
    };
  }

  function deploy(
    target: Script,
    versions: { version_id: string; percentage: number }[],
    annotations: Record<string, string>,
  ) {
    const last = target.deployments[target.deployments.length - 1];
    const at = Math.max(Date.now(), last ? Date.parse(last.createdOn) + 1 : 0);
    const deployment: DoubleDeployment = {
      id: randomUUID(),
      createdOn: new Date(at).toISOString(),
      versions,
      annotations,
    };
    target.deployments.push(deployment);
    scheduleServe(target);
    return deployment;
  }

  function deploymentJson(d: DoubleDeployment) {
    return {
      id: d.id,
      created_on: d.createdOn,
      source: 'api',
      strategy: 'percentage',
      author_email: 'test@example.com',
      versions: d.versions,
      annotations: d.annotations,
    };
  }

  /** Serving follows deployments without holding up the API's answers (workerd takes a second to start). */
  function scheduleServe(target: Script) {
    serving = serving
      .then(() => serve(target))
      .catch((error) => {
        console.error('cloudflare double: serving failed', error);
      });
  }

  async function serve(target: Script) {
    const deployment = target.deployments[target.deployments.length - 1];
    if (!deployment) return;
    const versionId = [...deployment.versions].sort((a, b) => b.percentage - a.percentage)[0]?.version_id;
    const version = target.versions.find((v) => v.id === versionId);
    if (!version) return;
    const current = served.get(target.name);
    if (current?.versionId === version.id) return;
    const dir = join(root, target.name, version.id);
    const assetsDir = join(dir, 'assets');
    await mkdir(assetsDir, { recursive: true });
    for (const [path, { hash }] of Object.entries(version.assets)) {
      const asset = target.assets.get(hash);
      if (!asset) throw new Error(`double: version ${version.id} lacks asset ${hash}`);
      await mkdir(dirname(join(assetsDir, path)), { recursive: true });
      await writeFile(join(assetsDir, path), Buffer.from(asset.base64, 'base64'));
    }
    const metadata = version.metadata as {
      main_module: string;
      compatibility_date: string;
      compatibility_flags?: string[];
      bindings: { type: string; name: string; text?: string }[];
      assets?: {
        config?: { html_handling?: string; not_found_handling?: string; run_worker_first?: string[] | boolean };
      };
    };
    const bindings: Record<string, string> = {};
    for (const b of metadata.bindings) if (b.type === 'plain_text') bindings[b.name] = b.text ?? '';
    const assetsName = metadata.bindings.find((b) => b.type === 'assets')?.name;
    const config = metadata.assets?.config ?? {};
    const first = config.run_worker_first;
    const userWorker = Array.isArray(first) ? first.filter((r) => !r.startsWith('!')) : [];
    const assetWorker = Array.isArray(first) ? first.filter((r) => r.startsWith('!')).map((r) => r.slice(1)) : [];
    const mainDir = join(dir, 'modules');
    // Main module first: Miniflare takes the first module as the entry point.
    const ordered = [...version.modules].sort((a, b) =>
      a.name === metadata.main_module ? -1 : b.name === metadata.main_module ? 1 : 0,
    );
    const workerOptions = {
      name: target.name,
      modules: ordered.map((m) => ({
        type: m.type === 'application/wasm' ? ('CompiledWasm' as const) : ('ESModule' as const),
        path: join(mainDir, m.name),
        contents: m.bytes,
      })),
      modulesRoot: mainDir,
      compatibilityDate: metadata.compatibility_date,
      compatibilityFlags: metadata.compatibility_flags ?? [],
      bindings,
      ...(Object.keys(version.assets).length || assetsName
        ? {
            assets: {
              directory: assetsDir,
              ...(assetsName ? { binding: assetsName } : {}),
              routerConfig: {
                has_user_worker: true,
                invoke_user_worker_ahead_of_assets: first === true,
                ...(userWorker.length
                  ? { static_routing: { user_worker: userWorker, asset_worker: assetWorker } }
                  : {}),
              },
              assetConfig: {
                ...(config.html_handling ? { html_handling: config.html_handling as 'auto-trailing-slash' } : {}),
                ...(config.not_found_handling
                  ? { not_found_handling: config.not_found_handling as 'single-page-application' }
                  : {}),
                has_static_routing: userWorker.length > 0,
              },
            },
          }
        : {}),
    };
    if (current) {
      await current.mf.setOptions({ ...workerOptions, host: '127.0.0.1', port: current.port });
      current.versionId = version.id;
    } else {
      const { Miniflare } = await import('miniflare');
      const mf = new Miniflare({ ...workerOptions, host: '127.0.0.1', port: 0 });
      const url = await mf.ready;
      served.set(target.name, { mf, port: Number(url.port), versionId: version.id });
    }
  }

  async function handle(req: IncomingMessage, body: Buffer, url: URL): Promise<{ status: number; body: unknown }> {
    const path = url.pathname.replace(/^\/client\/v4/, '');
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;

    if (method === 'POST' && path === `/accounts/${path.split('/')[2]}/workers/assets/upload`) {
      const acctId = decodeURIComponent(path.split('/')[2] ?? '');
      if (url.searchParams.get('base64') !== 'true') throw new Reject(400, 10021, 'base64=true is required');
      const jwt = bearer(req);
      const token = jwt ? tokens.get(jwt) : undefined;
      if (token?.kind !== 'upload' || token.account !== acctId) throw new Reject(401, 10001, 'Invalid upload token');
      if (token.expiresAt < Date.now()) throw new Reject(401, 10001, 'Upload token expired');
      const data = await form(req, body);
      const target = accounts.get(acctId)?.scripts.get(token.script) ?? pendingScript(acctId, token.script);
      const parts: [string, string, string][] = [];
      for (const [name, value] of data.entries()) {
        if (typeof value === 'string') throw new Reject(400, 10021, `Part ${name} must be a file part`);
        if (!HASH.test(name)) throw new Reject(400, 10021, `Part name ${name} is not an asset hash`);
        const paths = Object.entries(token.manifest).filter(([, e]) => e.hash === name);
        if (!paths.length) throw new Reject(400, 10021, `Asset ${name} is not in this upload session`);
        if (!value.type) throw new Reject(400, 10021, `Asset ${name} has no content type`);
        const base64 = await value.text();
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
          throw new Reject(400, 10021, `Asset ${name} is not base64`);
        }
        const [path0, entry] = paths[0] as [string, { size: number }];
        if (cloudflareHashOfBase64(base64, path0) !== name) {
          throw new Reject(400, 10021, `Asset ${name}: the content does not hash to its name`);
        }
        if (Buffer.from(base64, 'base64').byteLength !== entry.size) {
          throw new Reject(400, 10021, `Asset ${name}: size differs from the manifest`);
        }
        parts.push([name, base64, value.type]);
      }
      if (!parts.length) throw new Reject(400, 10021, 'No files in the upload');
      for (const [name, base64, contentType] of parts) {
        target.assets.set(name, { base64, contentType });
        uploadedHashes.push(name);
      }
      const complete = Object.values(token.manifest).every((e) => target.assets.has(e.hash));
      if (!complete) return { status: 202, body: envelope({ jwt: null }) };
      const completion = newToken({ ...token, kind: 'completion' }, 60 * 60 * 1000);
      return { status: 201, body: envelope({ jwt: completion }) };
    }

    m = /^\/accounts\/([^/]+)\/workers\/subdomain$/.exec(path);
    if (m && method === 'GET') {
      const acct = account(decodeURIComponent(m[1] as string), req);
      if (!acct.subdomain) throw new Reject(404, 10007, 'This account does not have a workers.dev subdomain');
      return { status: 200, body: envelope({ subdomain: acct.subdomain }) };
    }

    m = /^\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) throw new Reject(404, 7003, `No route for that URI`);
    const acctId = decodeURIComponent(m[1] as string);
    const name = decodeURIComponent(m[2] as string);
    const rest = m[3] ?? '';
    const acct = account(acctId, req);
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) throw new Reject(400, 10016, 'Invalid Worker name');

    if (rest === '/assets-upload-session' && method === 'POST') {
      const manifest = json(req, body).manifest as Record<string, { hash?: unknown; size?: unknown }> | undefined;
      if (!manifest || typeof manifest !== 'object') throw new Reject(400, 10021, 'manifest is required');
      const clean: Token['manifest'] = {};
      for (const [p, entry] of Object.entries(manifest)) {
        if (!p.startsWith('/')) throw new Reject(400, 10021, `Manifest path ${p} must start with /`);
        if (typeof entry?.hash !== 'string' || !HASH.test(entry.hash))
          throw new Reject(400, 10021, `Bad hash for ${p}`);
        if (!Number.isInteger(entry.size) || (entry.size as number) < 0 || (entry.size as number) > 25 * 1024 * 1024) {
          throw new Reject(400, 10021, `Bad size for ${p}`);
        }
        clean[p] = { hash: entry.hash, size: entry.size as number };
      }
      const target = acct.scripts.get(name) ?? pendingScript(acctId, name);
      const missing = [...new Set(Object.values(clean).map((e) => e.hash))].filter((h) => !target.assets.has(h));
      const size = options.bucketSize ?? 2;
      const buckets: string[][] = [];
      for (let i = 0; i < missing.length; i += size) buckets.push(missing.slice(i, i + size));
      const token = { account: acctId, script: name, manifest: clean };
      const jwt = buckets.length
        ? newToken({ ...token, kind: 'upload' }, options.uploadJwtMs ?? 60 * 60 * 1000)
        : newToken({ ...token, kind: 'completion' }, 60 * 60 * 1000);
      return { status: 200, body: envelope({ jwt, buckets }) };
    }

    if (rest === '' && method === 'PUT') {
      const parsed = await parseWorker(acctId, name, await form(req, body));
      const target = acct.scripts.get(name) ?? pendingScript(acctId, name);
      acct.scripts.set(name, target);
      const version = newVersion(target, parsed);
      deploy(target, [{ version_id: version.id, percentage: 100 }], {});
      return {
        status: 200,
        body: envelope({ id: name, etag: version.id, deployment_id: version.id, created_on: version.createdOn }),
      };
    }

    if (rest === '/versions' && method === 'POST') {
      const target = script(acct, name);
      const parsed = await parseWorker(acctId, name, await form(req, body));
      const version = newVersion(target, parsed);
      return { status: 200, body: envelope({ ...versionJson(version), resources: {} }) };
    }

    if (rest === '/versions' && method === 'GET') {
      const target = script(acct, name);
      return { status: 200, body: envelope({ items: [...target.versions].reverse().map(versionJson) }) };
    }

    if (rest === '/deployments' && method === 'GET') {
      const target = script(acct, name);
      return { status: 200, body: envelope({ deployments: [...target.deployments].reverse().map(deploymentJson) }) };
    }

    if (rest === '/deployments' && method === 'POST') {
      const target = script(acct, name);
      const input = json(req, body);
      if (input.strategy !== 'percentage') throw new Reject(400, 10021, 'strategy must be "percentage"');
      const versions = input.versions as { version_id?: unknown; percentage?: unknown }[] | undefined;
      if (!Array.isArray(versions) || versions.length < 1 || versions.length > 2) {
        throw new Reject(400, 10021, 'versions must list one or two versions');
      }
      let total = 0;
      for (const v of versions) {
        if (typeof v.version_id !== 'string' || !target.versions.some((x) => x.id === v.version_id)) {
          throw new Reject(400, 10021, `Unknown version ${String(v.version_id)}`);
        }
        if (typeof v.percentage !== 'number' || v.percentage <= 0 || v.percentage > 100) {
          throw new Reject(400, 10021, 'percentage must be in (0, 100]');
        }
        total += v.percentage;
      }
      if (total !== 100) throw new Reject(400, 10021, 'percentages must add up to 100');
      const deployment = deploy(
        target,
        versions.map((v) => ({ version_id: v.version_id as string, percentage: v.percentage as number })),
        (input.annotations ?? {}) as Record<string, string>,
      );
      return { status: 200, body: envelope(deploymentJson(deployment)) };
    }

    if (rest === '/subdomain' && method === 'POST') {
      const target = script(acct, name);
      const input = json(req, body);
      if (typeof input.enabled !== 'boolean') throw new Reject(400, 10021, 'enabled must be a boolean');
      target.workersDev = input.enabled;
      return { status: 200, body: envelope({ enabled: target.workersDev, previews_enabled: false }) };
    }

    throw new Reject(405, 10000, `${method} ${path} is not supported`);
  }

  // Assets uploaded before a Worker's first version belong to it once it exists.
  const pending = new Map<string, Script>();
  function pendingScript(acctId: string, name: string): Script {
    const key = `${acctId}/${name}`;
    let found = pending.get(key);
    if (!found) {
      found = { name, versions: [], deployments: [], workersDev: false, assets: new Map() };
      pending.set(key, found);
    }
    return found;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/^\/client\/v4/, '');
    const method = req.method ?? 'GET';
    const rule = faults.find((f) => f.times > 0 && f.path.test(path) && (!f.method || f.method === method));
    if (rule) rule.times--;
    const fault = rule?.fault;
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      requests.push({ method, path, status, at: Date.now() });
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
    };
    const fail = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
      send(status, { success: false, errors: [{ code, message }], messages: [], result: null }, headers);

    if (fault?.kind === '429')
      return fail(429, 971, 'Please wait and consider throttling your request speed', {
        'retry-after': String(fault.retryAfter),
      });
    if (fault?.kind === '500' && !fault.after) return fail(500, 10013, 'An unknown error has occurred');
    if (fault?.kind === 'slow' && !fault.after) await sleep(fault.ms);
    if (fault?.kind === 'expire-upload-jwt') {
      const token = tokens.get(bearer(req) ?? '');
      if (token) token.expiresAt = 0;
    }
    let result: { status: number; body: unknown };
    try {
      result = await handle(req, body, url);
    } catch (error) {
      if (error instanceof Reject) return fail(error.status, error.code, error.message);
      console.error('cloudflare double: bug', error);
      return fail(500, 10013, String(error));
    }
    if (fault?.kind === '500' && fault.after) return fail(500, 10013, 'An unknown error has occurred');
    if (fault?.kind === 'slow' && fault.after) await sleep(fault.ms);
    send(result.status, result.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  function scriptOf(name: string): Script | undefined {
    return accounts.get(options.accountId)?.scripts.get(name);
  }

  return {
    baseURL: `http://127.0.0.1:${port}/client/v4`,
    requests,
    uploadedHashes,
    fault({ method, path, times, ...fault }) {
      faults.push({ ...(method ? { method } : {}), path, times: times ?? 1, fault: fault as Fault });
    },
    versions: (name) => [...(scriptOf(name)?.versions ?? [])],
    deployments: (name) => [...(scriptOf(name)?.deployments ?? [])],
    async fetchDeployed(deployed, init) {
      await serving;
      const url = new URL(deployed);
      const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.workers\.dev$/.exec(url.hostname);
      const acct = accounts.get(options.accountId);
      if (!match || !acct || match[2] !== acct.subdomain)
        throw new Error(`double: ${deployed} is not on this account's workers.dev`);
      const target = acct.scripts.get(match[1] as string);
      const live = served.get(match[1] as string);
      if (!target?.workersDev || !live) return new Response('There is nothing here yet', { status: 404 });
      return fetch(`http://127.0.0.1:${live.port}${url.pathname}${url.search}`, init);
    },
    async close() {
      await serving;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...served.values()].map((s) => s.mf.dispose()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
