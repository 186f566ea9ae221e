// Routes of the local edge: deploy an app's build (whose blobs were uploaded through /v1/blobs/*), list its
// deployments, roll back. Each deployment and rollback is also a Store deployment record (target "local").
import {
  type Deployment,
  EdgeDeployment,
  EdgeDeploymentList,
  EdgeDeployRequest,
  EdgeInfo,
  EdgeRollbackRequest,
  manifestProblems,
} from '@reyna/core/protocol';
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError } from '../errors.js';
import type { RouteSpec } from '../openapi.js';
import type { Store } from '../store.js';
import type { Edge, EdgeVersionSpec } from './host.js';

export interface EdgeRouteKit<C extends Context> {
  route(spec: RouteSpec, handler: (c: C) => Promise<Response> | Response): void;
  json<S extends z.ZodType>(c: C, schema: S): Promise<z.infer<S>>;
  userId(c: C): string;
  publish(c: C, subject: string, data: Record<string, unknown>): void;
  store: Store;
  /** Undefined when the server runs without an edge (`createServer` without `edge`). */
  edge: Edge | undefined;
}

function noEdge(): ApiError {
  return new ApiError(503, 'E_EDGE_OFF', 'This studio server runs no local edge', {
    hint: 'Start it with an edge port: `reyna server start --edge-port 8788`, or deploy with `--target cloudflare`.',
  });
}

function checkPaths(body: z.infer<typeof EdgeDeployRequest>) {
  const files = manifestProblems(Object.keys(body.files).map((p) => p.slice(1)));
  const modules = manifestProblems(Object.keys(body.modules));
  const problem = files[0] ? { ...files[0], path: `/${files[0].path}` } : modules[0];
  if (problem) {
    throw new ApiError(422, 'E_INVALID_PATH', `"${problem.path}" ${problem.problem}`, {
      hint: 'Paths are POSIX paths without "..", "\\", NUL, empty segments or case-only duplicates.',
      details: { problems: [...files, ...modules].slice(0, 100) },
    });
  }
}

/** Registers the edge routes on the server; `kit` carries the server's own route, auth and JSON helpers. */
export function registerEdgeRoutes<C extends Context>(kit: EdgeRouteKit<C>): void {
  const { route, json, store, edge } = kit;
  const need = (): Edge => {
    if (!edge) throw noEdge();
    return edge;
  };

  async function describe(appId: string, record: Deployment, live: Edge): Promise<EdgeDeployment> {
    const state = live.app(appId);
    const mine = state?.records.find((r) => r.id === record.id);
    const versionId = record.versionId ?? mine?.versionId ?? '';
    const spec = versionId ? await live.version(versionId) : undefined;
    const files = spec ? Object.values(spec.files) : [];
    return {
      id: record.id,
      appId,
      versionId,
      url: record.url ?? '',
      status: record.status,
      active: state?.activeRecord === record.id,
      ...(mine?.message === undefined ? {} : { message: mine.message }),
      ...(mine?.rollbackOf === undefined ? {} : { rollbackOf: mine.rollbackOf }),
      files: files.length,
      bytes: files.reduce((n, f) => n + f.size, 0),
      bytesUploaded: record.bytesUploaded,
      durationMs: record.durationMs,
      createdBy: record.createdBy,
      createdAt: record.createdAt,
    };
  }

  route({ method: 'get', path: '/v1/edge', summary: "The local edge's address", response: EdgeInfo }, (c) => {
    const live = need();
    return c.json({ url: live.url, port: live.port });
  });

  route(
    {
      method: 'post',
      path: '/v1/apps/{appId}/edge/deployments',
      summary: 'Deploy to the local edge: static files and Worker modules by blob hash (upload the blobs first)',
      body: EdgeDeployRequest,
      response: EdgeDeployment,
      status: 201,
    },
    async (c) => {
      const started = performance.now();
      const live = need();
      const userId = kit.userId(c);
      const app = await store.getApp(userId, c.req.param('appId') ?? '');
      const body = await json(c, EdgeDeployRequest);
      checkPaths(body);
      const hashes = [...new Set([...Object.values(body.files), ...Object.values(body.modules)].map((f) => f.sha256))];
      const missing: string[] = [];
      for (let i = 0; i < hashes.length; i += 10_000) {
        missing.push(...(await store.missingBlobs(userId, hashes.slice(i, i + 10_000))));
      }
      if (missing.length > 0) {
        throw new ApiError(422, 'E_MISSING_BLOBS', `${missing.length} file(s) name blobs that were not uploaded`, {
          hint: 'Upload them first (POST /v1/blobs/missing tells which, POST /v1/blobs/batch uploads), then deploy again.',
          details: { missing: missing.slice(0, 100) },
        });
      }
      const spec: EdgeVersionSpec = {
        files: body.files,
        modules: body.modules,
        mainModule: body.mainModule,
        spa: body.spa,
        runWorkerFirst: body.runWorkerFirst,
        compatibilityDate: body.compatibilityDate,
        compatibilityFlags: body.compatibilityFlags,
      };
      const edgeApp = { id: app.id, name: app.name, ownerId: userId };
      const durationMs = () => body.durationMs + Math.round(performance.now() - started);
      let deployed: Awaited<ReturnType<Edge['deploy']>>;
      try {
        deployed = await live.deploy(edgeApp, spec);
      } catch (error) {
        await store
          .createDeployment(userId, app.id, {
            target: 'local',
            status: 'failure',
            bytesUploaded: body.bytesUploaded,
            durationMs: durationMs(),
          })
          .catch(() => {});
        throw error;
      }
      const record = await store.createDeployment(userId, app.id, {
        target: 'local',
        versionId: deployed.versionId,
        url: deployed.url,
        status: 'success',
        bytesUploaded: body.bytesUploaded,
        durationMs: durationMs(),
      });
      await live.record(
        app.id,
        { id: record.id, versionId: deployed.versionId, ...(body.message ? { message: body.message } : {}) },
        true,
      );
      kit.publish(c, `deployment.created.${app.id}`, {
        ownerId: userId,
        appId: app.id,
        deployment: record.id,
        status: record.status,
        url: record.url,
      });
      return c.json(await describe(app.id, record, live), 201);
    },
  );

  route(
    {
      method: 'get',
      path: '/v1/apps/{appId}/edge/deployments',
      summary: "The app's deployments on the local edge, newest first",
      response: EdgeDeploymentList,
    },
    async (c) => {
      const live = need();
      const userId = kit.userId(c);
      const app = await store.getApp(userId, c.req.param('appId') ?? '');
      return c.json({ deployments: await list(app.id, userId, live) });
    },
  );

  async function list(appId: string, userId: string, live: Edge): Promise<EdgeDeployment[]> {
    const records = (await store.listDeployments(userId, appId)).filter((d) => d.target === 'local');
    const seq = new Map((live.app(appId)?.records ?? []).map((r) => [r.id, r.seq]));
    records.sort((a, b) => (seq.get(b.id) ?? -1) - (seq.get(a.id) ?? -1) || b.createdAt.localeCompare(a.createdAt));
    return Promise.all(records.map((r) => describe(appId, r, live)));
  }

  route(
    {
      method: 'post',
      path: '/v1/apps/{appId}/edge/rollback',
      summary: 'Serve an earlier deployment again (default: the one before the current); recorded as a deployment',
      body: EdgeRollbackRequest,
      response: EdgeDeployment,
      status: 201,
    },
    async (c) => {
      const started = performance.now();
      const live = need();
      const userId = kit.userId(c);
      const app = await store.getApp(userId, c.req.param('appId') ?? '');
      const body = await json(c, EdgeRollbackRequest);
      const state = live.app(app.id);
      const records = [...(state?.records ?? [])].sort((a, b) => b.seq - a.seq);
      let target: (typeof records)[number] | undefined;
      if (body.deployment) {
        target = records.find((r) => r.id === body.deployment || r.versionId === body.deployment);
        if (!target) {
          throw new ApiError(404, 'E_NOT_FOUND', `No local deployment "${body.deployment}" of ${app.name}`, {
            hint: 'Run `reyna deployments list --target local` for the ids.',
          });
        }
      } else {
        target = records.find((r) => r.versionId !== state?.active);
        if (!target) {
          throw new ApiError(409, 'E_NOTHING_TO_ROLL_BACK', `${app.name} has no earlier deployment to go back to`, {
            hint: 'Run `reyna deployments list --target local` to see what there is.',
          });
        }
      }
      const { url } = await live.restore({ id: app.id, name: app.name, ownerId: userId }, target.versionId);
      const record = await store.createDeployment(userId, app.id, {
        target: 'local',
        versionId: target.versionId,
        url,
        status: 'success',
        bytesUploaded: 0,
        durationMs: Math.round(performance.now() - started),
      });
      await live.record(
        app.id,
        {
          id: record.id,
          versionId: target.versionId,
          message: body.message ?? `Rollback to ${target.id}`,
          rollbackOf: target.id,
        },
        true,
      );
      kit.publish(c, `deployment.created.${app.id}`, {
        ownerId: userId,
        appId: app.id,
        deployment: record.id,
        status: record.status,
        url: record.url,
      });
      return c.json(await describe(app.id, record, live), 201);
    },
  );
}
