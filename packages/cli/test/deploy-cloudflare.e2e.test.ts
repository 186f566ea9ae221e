import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
    expect(deployments[0].active).toBe(true);
    expect(deployments[0].versions[0].versionId).toBe(again.versionId);

    const back = await reyna(['rollback', ...api, '--json'], { cwd: app, home, env: env() });
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout).deployment.versions[0].versionId).toBe(result.versionId);
    expect(await (await double.fetchDeployed(`${result.url}/notes.txt`)).text()).toBe('first\n');
    expect(await (await double.fetchDeployed(`${result.url}/`)).text()).toBe(page);
  });
});
