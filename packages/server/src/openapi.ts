import { z } from 'zod';

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI style: `/v1/apps/{appId}`. */
  path: string;
  summary: string;
  body?: z.ZodType;
  /** Query parameters, each optional. */
  query?: z.ZodObject;
  /** Content type of a raw (non-JSON) request body. */
  rawBody?: string;
  response?: z.ZodType;
  rawResponse?: string;
  status?: number;
  /** False for routes that need no token. */
  auth?: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input (E_BAD_REQUEST, E_BAD_JSON, E_BAD_BATCH)',
  401: 'No token, or a wrong or revoked one (E_UNAUTHORIZED)',
  403: 'Not allowed (E_FORBIDDEN)',
  404: 'No such resource, or one you may not see (E_NOT_FOUND)',
  409: 'Conflict (E_HEAD_MOVED, E_BASE_MISMATCH, E_APP_EXISTS, E_BUCKET_EXISTS)',
  413: 'Too large (E_BLOB_TOO_LARGE, E_BODY_TOO_LARGE); the limit is in the hint',
  422: 'Invalid (E_INVALID_PATH, E_HASH_MISMATCH, E_MISSING_BLOBS, E_SIZE_MISMATCH)',
  429: 'Rate limit or quota (E_RATE_LIMITED with Retry-After, E_QUOTA_EXCEEDED)',
};

/** The OpenAPI 3.1 document of the routes, built from the same zod schemas the routes validate with. */
export function buildOpenApi(specs: readonly RouteSpec[], version: string): Record<string, unknown> {
  const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });
  const errorRef = {
    content: {
      'application/json': {
        schema: schema(
          z.object({
            error: z.object({
              code: z.string(),
              message: z.string(),
              hint: z.string().optional(),
              details: z.record(z.string(), z.unknown()).optional(),
            }),
          }),
          'output',
        ),
      },
    },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const parameters: Record<string, unknown>[] = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    for (const [name, field] of Object.entries(spec.query?.shape ?? {}))
      parameters.push({ name, in: 'query', required: false, schema: schema(field as z.ZodType, 'input') });
    const responses: Record<string, unknown> = {
      [String(spec.status ?? (spec.response || spec.rawResponse ? 200 : 204))]: {
        description: 'OK',
        ...(spec.response ? { content: { 'application/json': { schema: schema(spec.response, 'output') } } } : {}),
        ...(spec.rawResponse ? { content: { [spec.rawResponse]: {} } } : {}),
      },
    };
    for (const [code, text] of Object.entries(STATUS_TEXT)) {
      if (spec.auth === false && (code === '401' || code === '429')) continue;
      responses[code] = { description: text, ...errorRef };
    }
    const op: Record<string, unknown> = {
      summary: spec.summary,
      operationId: `${spec.method}${spec.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schema(spec.body, 'input') } } } }
        : {}),
      ...(spec.rawBody ? { requestBody: { required: true, content: { [spec.rawBody]: {} } } } : {}),
      ...(spec.auth === false ? { security: [] } : {}),
      responses,
    };
    paths[spec.path] ??= {};
    (paths[spec.path] as Record<string, unknown>)[spec.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Reyna studio server', version },
    components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
    security: [{ token: [] }],
    paths,
  };
}
