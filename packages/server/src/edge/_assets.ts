// One deployed app's static files, answered with the behaviour Cloudflare documents for the assets config every
// Reyna deploy sends (html_handling "auto-trailing-slash", not_found_handling "single-page-application" or "none",
// run_worker_first), so the local edge and Cloudflare agree. The edge's Node side serves them, not Miniflare's
// asset worker, because Miniflare gives every Worker in one instance the same assets storage: one workerd for
// all apps needs the files served from outside it. `_redirects` and `_headers` are plain files here: the deploy
// sends no redirect or header rules.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { contentTypeOf } from '@reyna/core/protocol';
import { assetsDir, type EdgeVersionSpec } from './_versions.js';

/** What the rules read of a request: a fetch Request, or the edge's view of a Node one. */
export interface AssetRequest {
  method: string;
  url: string;
  headers: Headers;
}

interface Asset {
  path: string;
  size: number;
  contentType: string;
}

type Intent = { eTag: string; redirect?: undefined } | { redirect: string; eTag?: undefined };

/** Cloudflare turns this on for compatibility dates from 2025-04-01: a navigation gets not_found_handling. */
const NAVIGATION_FLAG = {
  enable: 'assets_navigation_prefers_asset_serving',
  disable: 'assets_navigation_has_no_effect',
};
const NAVIGATION_DEFAULT_FROM = '2025-04-01';

const globRule = (rule: string) =>
  new RegExp(
    `^${rule
      .split('*')
      .map((part) => part.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&'))
      .join('.*')}$`,
  );

export class AppAssets {
  /** Each file's one canonical URL path (decoded) → its eTag: `/a.html` is `/a`, `/d/index.html` is `/d/`. */
  private readonly urls = new Map<string, string>();
  /** eTag → one file with those bytes. */
  private readonly files = new Map<string, Asset>();
  private readonly userWorker: RegExp[];
  private readonly assetWorker: RegExp[];
  private readonly spa: boolean;
  private readonly navigationPrefersAssets: boolean;

  constructor(
    private readonly dir: string,
    spec: EdgeVersionSpec,
  ) {
    for (const [path, file] of Object.entries(spec.files)) {
      // Cloudflare's eTag is its content hash: two paths with the same bytes share it, which html handling uses.
      const eTag = file.sha256.slice(0, 32);
      const url = canonicalUrl(path);
      // A file whose own name is the URL (`/a` beside `/a.html`) wins it.
      if (url === path || !this.urls.has(url)) this.urls.set(url, eTag);
      if (!this.files.has(eTag)) this.files.set(eTag, { path, size: file.size, contentType: contentTypeOf(path) });
    }
    this.userWorker = spec.runWorkerFirst.filter((r) => !r.startsWith('!')).map(globRule);
    this.assetWorker = spec.runWorkerFirst.filter((r) => r.startsWith('!')).map((r) => globRule(r.slice(1)));
    this.spa = spec.spa;
    const flags = spec.compatibilityFlags;
    this.navigationPrefersAssets =
      flags.includes(NAVIGATION_FLAG.enable) ||
      (spec.compatibilityDate >= NAVIGATION_DEFAULT_FROM && !flags.includes(NAVIGATION_FLAG.disable));
  }

  /**
   * Where a request to the app goes first, as Cloudflare's router decides: run_worker_first patterns (a `!` one
   * wins for the files), then the files if one answers the request, else the Worker.
   */
  route(request: AssetRequest): 'assets' | 'worker' {
    const { pathname } = new URL(request.url);
    if (this.assetWorker.some((r) => r.test(pathname))) return 'assets';
    if (this.userWorker.some((r) => r.test(pathname))) return 'worker';
    // Before the Worker, not_found_handling applies only with static routing or to a browser's navigation.
    const notFound =
      this.userWorker.length + this.assetWorker.length > 0 ||
      (this.navigationPrefersAssets && request.headers.get('sec-fetch-mode') === 'navigate');
    return this.answer(request, notFound) === undefined ? 'worker' : 'assets';
  }

  /** The ASSETS binding's `fetch`, and the files' side of the router. */
  fetch(request: AssetRequest): Response {
    const answer = this.answer(request, true);
    if (!answer) return new Response(null, { status: 404, statusText: 'Not Found' });
    if (answer instanceof Response) return answer;
    const file = this.files.get(answer.eTag) as Asset;
    const headers = new Headers({ ETag: `"${answer.eTag}"`, 'Content-Type': file.contentType });
    if (!request.headers.has('authorization') && !request.headers.has('range')) {
      headers.set('Cache-Control', 'public, max-age=0, must-revalidate');
    }
    const ifNoneMatch = request.headers.get('if-none-match') ?? '';
    if (ifNoneMatch === `"${answer.eTag}"` || ifNoneMatch === `W/"${answer.eTag}"`) {
      return new Response(null, { status: 304, statusText: 'Not Modified', headers });
    }
    headers.set('Content-Length', String(file.size));
    const body =
      request.method.toUpperCase() === 'HEAD'
        ? null
        : (Readable.toWeb(createReadStream(join(assetsDir(this.dir), file.path.slice(1)))) as ReadableStream);
    return new Response(body, { status: 200, headers });
  }

  /** An asset to serve, a response (redirect, 405), or undefined when the files have nothing for the request. */
  private answer(request: AssetRequest, notFound: boolean): { eTag: string } | Response | undefined {
    const url = new URL(request.url);
    const decoded = decodePath(url.pathname);
    const intent = this.intent(decoded, notFound);
    if (!intent) return undefined;
    if (!['GET', 'HEAD'].includes(request.method.toUpperCase())) {
      return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
    }
    if (intent.redirect !== undefined) {
      return new Response(null, {
        status: 307,
        statusText: 'Temporary Redirect',
        headers: { Location: encodePath(intent.redirect) + url.search },
      });
    }
    return { eTag: intent.eTag };
  }

  /**
   * html_handling "auto-trailing-slash": a file answers at its canonical URL only; the other spellings of that URL
   * (`/a.html`, `/d`, `/d/index.html`, `/d/index`, `/a/`) redirect to it; anything else is not found, which the
   * SPA mode answers with the root page.
   */
  private intent(pathname: string, notFound: boolean): Intent | undefined {
    const eTag = this.urls.get(pathname);
    if (eTag) return { eTag };
    for (const other of spellingsOf(pathname)) {
      if (this.urls.has(other)) return { redirect: other };
    }
    const root = notFound && this.spa ? this.urls.get('/') : undefined;
    return root ? { eTag: root } : undefined;
  }
}

/** The URL a file is served at under auto-trailing-slash. */
function canonicalUrl(path: string): string {
  if (path.endsWith('/index.html')) return path.slice(0, -'index.html'.length);
  if (path.endsWith('.html')) return path.slice(0, -'.html'.length);
  return path;
}

/** The canonical URLs a request path may be another spelling of, most specific first. */
function spellingsOf(pathname: string): string[] {
  if (pathname.endsWith('/index.html')) return [pathname.slice(0, -'index.html'.length)];
  if (pathname.endsWith('/index')) return [pathname.slice(0, -'index'.length)];
  if (pathname.endsWith('.html')) return [pathname.slice(0, -'.html'.length), `${pathname.slice(0, -'.html'.length)}/`];
  if (pathname.endsWith('/')) return pathname === '/' ? [] : [pathname.slice(0, -1)];
  return [`${pathname}/`];
}

function decodePath(pathname: string): string {
  return pathname
    .split('/')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    })
    .join('/')
    .replace(/\/+/g, '/');
}

function encodePath(pathname: string): string {
  return pathname
    .split('/')
    .map((part) => encodeURIComponent(part))
    .join('/');
}
