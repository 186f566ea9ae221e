import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '@reyna/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudflareDouble, startCloudflareDouble } from '../../core/test/cloudflare-double/index.js';
import { repoRoot, reyna, tempDir } from './_reyna.js';

const TOKEN = 'cli-test-token';
const ACCOUNT = 'acc-cli-0001';
let double: CloudflareDouble;
const scratch = tempDir('deploy-cf-', join(repoRoot, '.tmp'));
const home = tempDir();

beforeAll(async () => {
  double = await startCloudflareDouble({ apiToken: TOKEN, accountId: ACCOUNT, subdomain: 'cli-test' });
});
afterAll(async () => {
  await double?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const env = () => ({ CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT });

describe('reyna deploy --target cloudflare (against the API double)', () => {
  it('init → build → deploy: the page carries the APP_ID, /api answers with it; one-asset redeploy; rollback', async () => {
    const made = await reyna(['init', 'cf-app', '--template', 'react', '--no-install', '--no-git'], {
      cwd: scratch,
      home,
    });
    expect(made.code, made.stderr).toBe(0);
    const app = join(scratch, 'cf-app');
    const api = ['--target', 'cloudflare', '--cloudflare-api-url', double.baseURL];
    // A file served as it is (Vite's public/): changing it changes no other file's name or content.
    mkdirSync(join(app, 'public'));
    writeFileSync(join(app, 'public/notes.txt'), 'first\n');
    expect((await reyna(['build'], { cwd: app, home })).code).toBe(0);

    // Without a token: planning works, applying says what to set.
    const dry = await reyna(['deploy', ...api, '--app', 'app-one', '--dry-run', '--json'], {
      cwd: app,
      home,
      env: { CLOUDFLARE_ACCOUNT_ID: ACCOUNT },
    });
    expect(dry.code, dry.stderr).toBe(0);
    const { plan } = JSON.parse(dry.stdout);
    expect(plan.appId).toBe('app-one');
    expect(plan.files.map((f: { path: string }) => f.path)).toContain('/index.html');
    expect(double.versions('cf-app')).toHaveLength(0);
    const noToken = await reyna(['deploy', ...api, '--app', 'app-one', '--json'], {
      cwd: app,
      home,
      env: { CLOUDFLARE_ACCOUNT_ID: ACCOUNT },
    });
    expect(noToken.code).toBe(1);
    expect(JSON.parse(noToken.stdout).error.code).toBe('E_CLOUDFLARE_TOKEN_MISSING');

    const first = await reyna(['deploy', ...api, '--app', 'app-one', '--json'], { cwd: app, home, env: env() });
    expect(first.code, first.stderr).toBe(0);
    const { result } = JSON.parse(first.stdout);
    // No studio server configured: the deploy works, and says that nothing recorded it.
    expect(result.record).toMatchObject({ recorded: false, reason: expect.stringContaining('No studio server') });
    expect(first.stderr).toContain('No deployment record was written');
    expect(result.url).toBe('https://cf-app.cli-test.workers.dev');
    const page = await (await double.fetchDeployed(`${result.url}/`)).text();
    expect(page).toContain('<script>window.ENV = {"APP_ID":"app-one"}</script>');
    const hello = await (await double.fetchDeployed(`${result.url}/api/hello`)).json();
    expect(hello.appId).toBe('app-one');
    const deep = await double.fetchDeployed(`${result.url}/some/deep/route`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('window.ENV');

    // One asset changes: exactly one file goes up.
    writeFileSync(join(app, 'public/notes.txt'), 'second\n');
    expect((await reyna(['build'], { cwd: app, home })).code).toBe(0);
    const second = await reyna(['deploy', ...api, '--app', 'app-one', '--json'], { cwd: app, home, env: env() });
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout).result;
    expect(again.uploaded.files).toBe(1);
    expect(double.versions('cf-app')).toHaveLength(2);
    expect(await (await double.fetchDeployed(`${result.url}/notes.txt`)).text()).toBe('second\n');

    const list = await reyna(['deployments', 'list', ...api, '--json'], { cwd: app, home, env: env() });
    expect(list.code, list.stderr).toBe(0);
    const { deployments } = JSON.parse(list.stdout);
    expect(deployments[0]).toMatchObject({ origin: 'cloudflare', active: true });
    expect(deployments[0].versions[0].versionId).toBe(again.versionId);

    const back = await reyna(['rollback', ...api, '--json'], { cwd: app, home, env: env() });
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout).deployment.versions[0].versionId).toBe(result.versionId);
    expect(await (await double.fetchDeployed(`${result.url}/notes.txt`)).text()).toBe('first\n');
    expect(await (await double.fetchDeployed(`${result.url}/`)).text()).toBe(page);
  }, 120_000);

  it('records deploys and rollbacks on the studio server, lists them, rolls back by deployment or version id, and warns without a server', async () => {
    const dataDir = tempDir('reyna-cf-studio-');
    const studio = await startServer({ port: 0, host: '127.0.0.1', dataDir, env: { REYNA_LOG_LEVEL: 'error' } });
    let open = true;
    try {
      const token = studio.ownerToken as string;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${studio.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return res.json();
      };
      const owner = (await call('GET', '/v1/whoami')).user.id as string;
      const appId = (await call('POST', '/v1/apps', { name: 'cf-linked' })).id as string;
      expect(appId).toMatch(/^app-/);

      const made = await reyna(['init', 'cf-linked', '--template', 'react', '--no-install', '--no-git'], {
        cwd: scratch,
        home,
      });
      expect(made.code, made.stderr).toBe(0);
      const app = join(scratch, 'cf-linked');
      // Linked: reyna.json names the studio server's app.
      const config = JSON.parse(readFileSync(join(app, 'reyna.json'), 'utf8'));
      writeFileSync(join(app, 'reyna.json'), `${JSON.stringify({ ...config, appId }, null, 2)}\n`);
      mkdirSync(join(app, 'public'));
      const build = async (notes: string) => {
        writeFileSync(join(app, 'public/notes.txt'), notes);
        expect((await reyna(['build'], { cwd: app, home })).code).toBe(0);
      };
      const api = ['--target', 'cloudflare', '--cloudflare-api-url', double.baseURL];
      const linked = () => ({ ...env(), REYNA_SERVER: studio.url, REYNA_TOKEN: token });
      const run = async (args: string[]) => {
        const ran = await reyna([...args, ...api, '--json'], { cwd: app, home, env: linked() });
        return { ...ran, json: JSON.parse(ran.stdout) };
      };

      await build('first\n');
      const d1 = await run(['deploy']);
      expect(d1.code, d1.stderr).toBe(0);
      const r1 = d1.json.result;
      expect(d1.stderr).not.toContain('No deployment record');
      expect(r1.record).toMatchObject({ recorded: true, deploymentId: expect.stringMatching(/^dep-/) });
      const stored = (await call('GET', `/v1/apps/${appId}/deployments`)).deployments;
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        id: r1.record.deploymentId,
        target: 'cloudflare',
        versionId: r1.versionId,
        url: 'https://cf-linked.cli-test.workers.dev',
        status: 'success',
        bytesUploaded: r1.uploaded.bytes,
        createdBy: owner,
      });
      expect(r1.uploaded.bytes).toBeGreaterThan(0);
      expect(stored[0].durationMs).toBeGreaterThan(0);

      await build('second\n');
      const d2 = await run(['deploy']);
      expect(d2.code, d2.stderr).toBe(0);
      const r2 = d2.json.result;
      const listed = await run(['deployments', 'list']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.json.deployments).toHaveLength(2);
      expect(listed.json.deployments[0]).toMatchObject({
        origin: 'studio',
        id: r2.record.deploymentId,
        active: true,
        target: 'cloudflare',
        status: 'success',
        url: r1.url,
        versions: [{ versionId: r2.versionId, percentage: 100 }],
        bytesUploaded: r2.uploaded.bytes,
        createdBy: owner,
      });
      expect(listed.json.deployments[1]).toMatchObject({ id: r1.record.deploymentId, active: false });
      const human = await reyna(['deployments', 'list', ...api], { cwd: app, home, env: linked() });
      expect(human.stdout).toContain(`${r2.record.deploymentId}  cloudflare  success  ${r2.versionId}`);
      expect(human.stdout).toContain(`by ${owner}`);

      // Back to the first deployment, by its id from the list.
      const back = await run(['rollback', r1.record.deploymentId]);
      expect(back.code, back.stderr).toBe(0);
      expect(back.json.deployment.versions[0].versionId).toBe(r1.versionId);
      expect(back.json.deployment.record.recorded).toBe(true);
      expect(await (await double.fetchDeployed(`${r1.url}/notes.txt`)).text()).toBe('first\n');
      const after = (await run(['deployments', 'list'])).json.deployments;
      expect(after).toHaveLength(3);
      expect(after[0]).toMatchObject({
        id: back.json.deployment.record.deploymentId,
        active: true,
        versions: [{ versionId: r1.versionId, percentage: 100 }],
        bytesUploaded: 0,
        url: r1.url,
      });
      expect(after.filter((d: { active: boolean }) => d.active)).toHaveLength(1);

      // And forward again by Cloudflare's version id.
      const forward = await run(['rollback', r2.versionId]);
      expect(forward.code, forward.stderr).toBe(0);
      expect(await (await double.fetchDeployed(`${r1.url}/notes.txt`)).text()).toBe('second\n');
      expect((await call('GET', `/v1/apps/${appId}/deployments`)).deployments).toHaveLength(4);
      const unknown = await run(['rollback', 'dep-nosuchdeployment']);
      expect(unknown.code).toBe(1);
      expect(unknown.json.error.code).toBe('E_CLOUDFLARE_NO_VERSION');

      // The server goes away: the deploy still goes through and warns that no record was written.
      await studio.close();
      open = false;
      await build('third\n');
      const d3 = await run(['deploy']);
      expect(d3.code, d3.stderr).toBe(0);
      expect(d3.json.result.record).toMatchObject({ recorded: false, reason: expect.stringContaining('Cannot reach') });
      expect(d3.stderr).toContain('No deployment record was written');
      expect(await (await double.fetchDeployed(`${r1.url}/notes.txt`)).text()).toBe('third\n');
      const offline = await run(['deployments', 'list']);
      expect(offline.code, offline.stderr).toBe(0);
      expect(offline.json.deployments[0]).toMatchObject({ origin: 'cloudflare', active: true });
      expect(offline.stderr).toContain("Showing Cloudflare's own deployment list");
      const lost = await run(['rollback', r1.record.deploymentId]);
      expect(lost.code).toBe(1);
      expect(lost.json.error.code).toBe('E_DEPLOYMENT_UNKNOWN');
    } finally {
      if (open) await studio.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
