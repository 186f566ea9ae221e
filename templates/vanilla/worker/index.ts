/** Bindings the Worker receives. Declared here so the app needs no @cloudflare/workers-types. */
export interface Env {
  /** Public id of the deployed app: a plain-text binding set by `reyna deploy` and `reyna dev`. */
  APP_ID: string;
  /** The client build (`dist/`), served by the runtime. */
  ASSETS: { fetch(request: Request): Promise<Response> };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/api' || pathname.startsWith('/api/')) return api(request, env, pathname);
    return env.ASSETS.fetch(request);
  },
};

function api(request: Request, env: Env, path: string): Response {
  if (path === '/api/hello' && request.method === 'GET') {
    return Response.json({ message: 'Hello from the Worker', appId: env.APP_ID, path });
  }
  // The same error shape as the studio server, so clients handle one format.
  return Response.json(
    { error: { code: 'E_NOT_FOUND', message: `No route for ${request.method} ${path}` } },
    { status: 404 },
  );
}
