import { describe, expect, it } from 'vitest';
import worker, { type Env } from './index';

function fakeEnv() {
  const assetRequests: string[] = [];
  const env: Env = {
    APP_ID: 'app_test123',
    ASSETS: {
      async fetch(request) {
        assetRequests.push(new URL(request.url).pathname);
        return new Response('<!doctype html><title>asset</title>', { headers: { 'content-type': 'text/html' } });
      },
    },
  };
  return { env, assetRequests };
}

const get = (path: string, env: Env) => worker.fetch(new Request(`https://app.example${path}`), env);

describe('worker', () => {
  it('answers /api/hello with the APP_ID binding', async () => {
    const { env, assetRequests } = fakeEnv();
    const res = await get('/api/hello', env);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ message: 'Hello from the Worker', appId: 'app_test123', path: '/api/hello' });
    expect(assetRequests).toEqual([]);
  });

  it('answers unknown /api routes with a JSON 404, not the SPA page', async () => {
    const { env, assetRequests } = fakeEnv();
    const res = await get('/api/nope', env);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'E_NOT_FOUND', message: 'No route for GET /api/nope' } });
    expect(assetRequests).toEqual([]);
  });

  it('hands every other path to ASSETS', async () => {
    const { env, assetRequests } = fakeEnv();
    for (const path of ['/', '/about', '/apiary']) {
      const res = await get(path, env);
      expect(await res.text()).toContain('<title>asset</title>');
    }
    expect(assetRequests).toEqual(['/', '/about', '/apiary']);
  });
});
