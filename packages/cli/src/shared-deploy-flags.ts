import type { CloudflareSettings, StudioSettings, TargetName } from '@reyna/core';
import { Flags } from './_oclif.js';
import { flag } from './flags.js';

/** Flags every deploy-related command takes: where, and as whom on Cloudflare. */
export const targetFlags = {
  target: flag(
    'target',
    Flags.option({
      options: ['local', 'cloudflare'] as const,
      description: "Where to deploy (default: reyna.json's deploy.target, else local).",
    })(),
  ),
  'account-id': flag(
    'account-id',
    Flags.string({ description: 'Cloudflare account id (default: CLOUDFLARE_ACCOUNT_ID, then reyna.json).' }),
  ),
  server: flag(
    'server',
    Flags.string({
      description:
        'Studio server URL: where --target local deploys and Cloudflare deployments are recorded (default: the credentials file).',
      helpValue: '<url>',
    }),
  ),
  token: flag(
    'token',
    Flags.string({ description: 'Studio server API token (default: the credentials file).', helpValue: '<token>' }),
  ),
  'cloudflare-api-url': flag(
    'cloudflare-api-url',
    Flags.string({ description: 'Base URL of the Cloudflare API (for a proxy or a test double).', hidden: true }),
  ),
};

/** Cloudflare's own variable names are what its users already have set; Reyna's twins win when both are. */
export function cloudflareSettings(
  flags: { 'account-id'?: string; 'cloudflare-api-url'?: string },
  env: NodeJS.ProcessEnv,
): CloudflareSettings {
  const accountId = flags['account-id'] ?? env.CLOUDFLARE_ACCOUNT_ID;
  const apiToken = env.CLOUDFLARE_API_TOKEN;
  const baseURL = flags['cloudflare-api-url'];
  return {
    ...(accountId ? { accountId } : {}),
    ...(apiToken ? { apiToken } : {}),
    ...(baseURL ? { baseURL } : {}),
  };
}

export type { TargetName };

/** The studio server the local target deploys to: --server/REYNA_SERVER and --token/REYNA_TOKEN, else credentials. */
export function studioSettings(flags: { server?: string; token?: string }): StudioSettings {
  return {
    ...(flags.server ? { server: flags.server } : {}),
    ...(flags.token ? { token: flags.token } : {}),
  };
}
