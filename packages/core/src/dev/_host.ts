/**
 * The Worker `reyna dev` keeps running in workerd: it runs the app's Worker through a Worker Loader, one version per
 * build, so that a save is served as soon as it is compiled instead of after workerd restarts (~0.3 s with
 * Miniflare's setOptions). The app's Worker gets the same env as in production, APP_ID and ASSETS, and nothing else.
 *
 * Each request names its version in `x-reyna-worker` (set by reyna dev, removed before the app sees the request);
 * `x-reyna-probe: <version>` loads a version and reports whether it starts, without calling the app's code.
 * Requests get a `request.cf` as on Cloudflare (the placeholder Miniflare gives, for a dev machine has no edge
 * location), and an exception the app throws answers 500 with its stack, which the terminal shows too.
 */
export const HOST_MODULE = '__reyna_dev_host.js';
export const WORKER_HEADER = 'x-reyna-worker';
export const PROBE_HEADER = 'x-reyna-probe';

// Loads the app's module (an exception at its top level fails the probe) and offers a probe that runs none of it.
const MAIN = `export * from './index.js';
export { default } from './index.js';
import { WorkerEntrypoint } from 'cloudflare:workers';
export class ReynaDevProbe extends WorkerEntrypoint { ping() { return true; } }
`;

/** Miniflare's placeholder `request.cf`, which reyna dev gave while it ran on Miniflare. */
const CF = {
  asOrganization: '',
  asn: 395747,
  colo: 'DFW',
  city: 'Austin',
  region: 'Texas',
  regionCode: 'TX',
  metroCode: '635',
  postalCode: '78701',
  country: 'US',
  continent: 'NA',
  timezone: 'America/Chicago',
  latitude: '30.27130',
  longitude: '-97.74260',
  clientTcpRtt: 0,
  httpProtocol: 'HTTP/1.1',
  requestPriority: 'weight=192;exclusive=0',
  tlsCipher: 'AEAD-AES128-GCM-SHA256',
  tlsVersion: 'TLSv1.3',
  tlsClientAuth: {
    certPresented: '0',
    certVerified: 'NONE',
    certRevoked: '0',
    certIssuerDN: '',
    certSubjectDN: '',
    certIssuerDNRFC2253: '',
    certSubjectDNRFC2253: '',
    certIssuerDNLegacy: '',
    certSubjectDNLegacy: '',
    certSerial: '',
    certIssuerSerial: '',
    certSKI: '',
    certIssuerSKI: '',
    certFingerprintSHA1: '',
    certFingerprintSHA256: '',
    certNotBefore: '',
    certNotAfter: '',
  },
  edgeRequestKeepAliveStatus: 0,
  clientTrustScore: 99,
  botManagement: {
    corporateProxy: false,
    verifiedBot: false,
    ja3Hash: '25b4882c2bcb50cd6b469ff28c596742',
    staticResource: false,
    detectionIds: [],
    score: 99,
  },
};

export function hostModule(compatibilityDate: string): string {
  return `
const MAIN = ${JSON.stringify(MAIN)};
const CF = ${JSON.stringify(CF)};
export default {
  async fetch(request, env) {
    const probe = request.headers.get(${JSON.stringify(PROBE_HEADER)});
    const version = probe ?? request.headers.get(${JSON.stringify(WORKER_HEADER)});
    const worker = env.__REYNA_LOADER.get(version, async () => ({
      compatibilityDate: ${JSON.stringify(compatibilityDate)},
      mainModule: 'reyna-dev-main.js',
      modules: {
        'reyna-dev-main.js': MAIN,
        'index.js': await (await env.__REYNA_CODE.fetch('http://reyna.dev/' + version)).text(),
      },
      env: { APP_ID: env.APP_ID, ASSETS: env.ASSETS },
    }));
    if (probe !== null) {
      try {
        await worker.getEntrypoint('ReynaDevProbe').ping();
        return new Response('started');
      } catch (error) {
        return new Response(String((error && error.stack) || error), { status: 500 });
      }
    }
    const headers = new Headers(request.headers);
    headers.delete(${JSON.stringify(WORKER_HEADER)});
    const cf = { ...CF, clientAcceptEncoding: request.headers.get('accept-encoding') ?? '' };
    try {
      return await worker.getEntrypoint().fetch(new Request(request, { headers, cf }));
    } catch (error) {
      const stack = String((error && error.stack) || error)
        .split('\\n')
        .filter((line) => !line.includes(${JSON.stringify(HOST_MODULE)}))
        .join('\\n');
      console.error(stack);
      return new Response(stack + '\\n', { status: 500, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    }
  },
};
`;
}

/** What a failed probe says, without the loader's wrapping and the host's own frames. */
export function startFailure(text: string): string {
  return text
    .replace(/^Error: Failed to start Worker:\s*/, '')
    .split('\n')
    .filter((line) => !/\(script-\d+:\d+:\d+\)|__reyna_dev_host/.test(line))
    .join('\n')
    .trim();
}
