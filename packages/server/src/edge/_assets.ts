// One deployed app's static files, answered the way Cloudflare answers them for the assets config every Reyna
// deploy sends (html_handling "auto-trailing-slash", not_found_handling "single-page-application" or "none",
// run_worker_first), so the local edge and Cloudflare agree. The edge's own Node side does this rather than
// Miniflare's asset worker because Miniflare gives every Worker in one instance the same assets storage: one
// workerd for all apps needs the files served from outside it. The rules are ported from Cloudflare's
// workers-shared (asset-worker handler.ts, router-worker static routing) as Miniflare 4 bundles them; _redirects
// and _headers files are served as plain files, since the deploy sends no redirect or header rules.
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

type Intent = { eTag: string; status: 200; redirect?: undefined } | { redirect: string; eTag?: undefined };

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
  /** Served path (decoded) → eTag. */
  private readonly paths = new Map<string, string>();
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
      this.paths.set(path, eTag);
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
    const intent = this.intent(decoded, notFound, false);
    if (!intent) return undefined;
    if (!['GET', 'HEAD'].includes(request.method.toUpperCase())) {
      return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
    }
    const destination = encodePath(intent.redirect ?? decoded);
    if (intent.redirect !== undefined || destination !== url.pathname) {
      return new Response(null, {
        status: 307,
        statusText: 'Temporary Redirect',
        headers: { Location: destination + url.search },
      });
    }
    return { eTag: intent.eTag };
  }

  private exists(path: string): string | undefined {
    return this.paths.get(path);
  }

  /** html_handling "auto-trailing-slash": `/a` serves a.html, `/a/` serves a/index.html, and the other spellings redirect. */
  private intent(pathname: string, notFound: boolean, skipRedirects: boolean): Intent | undefined {
    const found = (eTag: string | undefined): Intent | undefined => (eTag ? { eTag, status: 200 } : undefined);
    const redirect = (file: string, destination: string) =>
      this.safeRedirect(file, destination, notFound, skipRedirects);
    const exact = this.exists(pathname);
    if (pathname.endsWith('/index')) {
      if (exact) return found(exact);
      const r =
        redirect(`${pathname}.html`, pathname.slice(0, -5)) ??
        redirect(`${pathname.slice(0, -6)}.html`, pathname.slice(0, -6));
      if (r) return r;
    } else if (pathname.endsWith('/index.html')) {
      const r =
        redirect(pathname, pathname.slice(0, -10)) ??
        redirect(`${pathname.slice(0, -11)}.html`, pathname.slice(0, -11));
      if (r) return r;
    } else if (pathname.endsWith('/')) {
      const index = this.exists(`${pathname}index.html`);
      if (index) return found(index);
      const r = redirect(`${pathname.slice(0, -1)}.html`, pathname.slice(0, -1));
      if (r) return r;
    } else if (pathname.endsWith('.html')) {
      const r =
        redirect(pathname, pathname.slice(0, -5)) ??
        redirect(`${pathname.slice(0, -5)}/index.html`, `${pathname.slice(0, -5)}/`);
      if (r) return r;
    }
    return (
      found(exact) ??
      found(this.exists(`${pathname}.html`)) ??
      redirect(`${pathname}/index.html`, `${pathname}/`) ??
      (notFound && this.spa ? found(this.exists('/index.html')) : undefined)
    );
  }

  /** Redirects to `destination` only where that serves the very file the request named. */
  private safeRedirect(file: string, destination: string, notFound: boolean, skip: boolean): Intent | undefined {
    if (skip || this.exists(destination)) return undefined;
    const there = this.intent(destination, notFound, true);
    const eTag = this.exists(file);
    return there?.eTag !== undefined && there.eTag === eTag ? { redirect: destination } : undefined;
  }
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
