import { request } from 'node:http';
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import { axeViolations, openPage, screenshot, useBrowser, type PageProblems } from '../../harness/browser.js';
import { useSshHosts } from '../../harness/ssh-fixture.js';
import { TOKEN_FILE, TOKENS } from '../../unit/api/setup.js';
import { TestApi } from '../api/test-api.js';

/**
 * The web console in a real headless Chromium against a real daemon with a local node and two
 * sshd nodes: sign-in, the jobs view, run now (with and without parameters) seen in Running and
 * History with its output, enable/disable, what a read-only token sees, axe-core on every view.
 */
describe('web console in headless Chromium (local and sshd nodes)', function () {
  this.timeout(180_000);
  const ssh = useSshHosts('web console', { count: 2 });
  const chromium = useBrowser('web console');
  let t: TestApi;
  let browser: Browser;
  const pages: { page: Page; problems: PageProblems }[] = [];

  before(async function () {
    this.timeout(60_000);
    browser = chromium.browser;
    const hosts = ssh.hosts;
    const sshNode = (i: number) => ({
      roles: ['remote'],
      connection_type: 'ssh',
      connection_options: {
        ssh_host: hosts.hostPort(i),
        ssh_user: hosts.user,
        ssh_private_key_file: hosts.clientKeyFile,
      },
    });
    t = await TestApi.start({
      tokens: TOKEN_FILE,
      nodes: {
        here: { roles: ['local'], connection_type: 'local', labels: { zone: 'a' } },
        h0: sshNode(0),
        h1: sshNode(1),
      },
      jobs: {
        slow: {
          description: 'Sleeps a little, then says so',
          policy: { select: 'any', roles: ['local'] },
          shell_command: 'sleep 1; echo slow start; sleep 3; echo slow done',
          tags: ['demo'],
        },
        greet: {
          description: 'Says hello on every remote host',
          policy: { select: 'all', roles: ['remote'] },
          shell_command: 'echo "hello from $DISTCRON_NODE"',
          tags: ['demo', 'remote'],
        },
        deploy: {
          policy: { select: 'any', roles: ['local'] },
          command: ['/bin/sh', '-c', 'echo "deploying $VERSION"'],
          parameters: { VERSION: { pattern: '^[0-9.]{1,20}$', required: true } },
        },
        nightly: {
          description: 'Nightly clean-up',
          policy: { select: 'any', roles: ['local'] },
          schedule: '0 3 * * *',
          command: ['true'],
          tags: ['nightly'],
        },
      },
      options: { knownHostsFile: hosts.knownHostsFile, sshConnectTimeoutMs: 5000 },
    });
  });
  after(async () => {
    await Promise.all(pages.map(({ page }) => page.close().catch(() => undefined)));
    await t?.close();
  });

  async function newPage(width = 1280) {
    const opened = await openPage(browser, width);
    pages.push(opened);
    return opened;
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${t.url}/ui/`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#token');
    await page.type('#token', token);
    await page.click('button[type="submit"]');
  }

  function waitForText(page: Page, selector: string, text: string, timeout = 30_000) {
    return page.waitForFunction(
      `[...document.querySelectorAll(${JSON.stringify(selector)})].some((e) => e.textContent.includes(${JSON.stringify(text)}))`,
      { timeout, polling: 200 },
    );
  }

  async function textOf(page: Page, selector: string): Promise<string> {
    return page.$eval(selector, (e) => e.textContent ?? '');
  }

  it('serves the console with a strict Content-Security-Policy and no token', async () => {
    const reply = await fetch(`${t.url}/ui/`);
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('content-security-policy')).to.match(/default-src 'self'; script-src 'self'/);
    expect(reply.headers.get('set-cookie')).to.equal(null);
    expect((await fetch(`${t.url}/ui`, { redirect: 'manual' })).headers.get('location')).to.equal('/ui/');
    expect(await statusWithHost(`${t.url}/ui/`, 'evil.example')).to.equal(421);
  });

  it('tells the user clearly when the token is wrong', async () => {
    const { page } = await newPage();
    await signIn(page, 'not-a-token');
    await waitForText(page, '[role="alert"]', 'refused this token');
    expect(await axeViolations(page)).to.deep.equal([]);
    await screenshot(page, 'login-wrong-token');
  });

  let operator: Page;
  let operatorProblems: PageProblems;

  it('signs in with a token and lists the jobs, with schedule words and tags', async () => {
    ({ page: operator, problems: operatorProblems } = await newPage());
    await signIn(operator, TOKENS.operate);
    await operator.waitForSelector('tr[data-job="slow"]');
    const names = await operator.$$eval('tr[data-job]', (rows) =>
      rows.map((r) => r.getAttribute('data-job')),
    );
    expect(names).to.deep.equal(['deploy', 'greet', 'nightly', 'slow']);
    expect(await textOf(operator, 'header .who'))
      .to.include('ci')
      .and.include('operate');
    expect(await textOf(operator, 'tr[data-job="nightly"]')).to.include('At 03:00');
    await operator.click('tr[data-job="greet"] button.tag');
    await operator.waitForFunction('location.hash.includes("tag=demo")');
    await operator.waitForFunction('document.querySelectorAll("tr[data-job]").length === 2');
    await operator.goto(`${t.url}/ui/#/jobs`, { waitUntil: 'networkidle0' });
  });

  it('"Run now" starts a run that shows in Running, then in History with its output', async () => {
    await operator.waitForSelector('tr[data-job="slow"] button.run-now');
    await operator.click('tr[data-job="slow"] button.run-now');
    await waitForText(operator, '.notice', 'Started slow');
    await operator.goto(`${t.url}/ui/#/running`);
    await waitForText(operator, 'tr[data-run]', 'slow');
    expect(await textOf(operator, 'tr[data-run]'))
      .to.include('here')
      .and.include('manual');
    // The output follows the run's stream (SSE read with fetch and the Bearer token).
    await operator.click('tr[data-run] details summary');
    await waitForText(operator, 'tr[data-run] pre.output', 'slow start');
    await screenshot(operator, 'running');
    expect(await axeViolations(operator)).to.deep.equal([]);
    await waitForText(operator, 'main p', 'Nothing is running', 30_000);
    await operator.goto(`${t.url}/ui/#/history?job=slow`);
    await waitForText(operator, 'tr[data-run]', 'succeeded');
    await operator.click('tr[data-run] td a');
    await waitForText(operator, 'pre.output', 'slow done');
    expect(await textOf(operator, '.host-run')).to.include('Exit code0');
  });

  it('shows the output of an `all` run per host, over sshd', async () => {
    await operator.goto(`${t.url}/ui/#/jobs`);
    await operator.waitForSelector('tr[data-job="greet"] button.run-now');
    await operator.click('tr[data-job="greet"] button.run-now');
    await waitForText(operator, '.notice', 'Started greet');
    await operator.click('.notice a');
    await waitForText(operator, 'pre.output', 'hello from h0');
    await waitForText(operator, 'pre.output', 'hello from h1');
    const hosts = await operator.$$eval('.host-run h2', (hs) => hs.map((h) => h.textContent ?? ''));
    expect(hosts.map((h) => h.split(' ')[0]).sort()).to.deep.equal(['h0', 'h1']);
    await screenshot(operator, 'run-detail');
    expect(await axeViolations(operator)).to.deep.equal([]);
  });

  it('asks for the declared parameters before a run, and records them', async () => {
    await operator.goto(`${t.url}/ui/#/jobs`);
    await operator.waitForSelector('tr[data-job="deploy"] button.run-now');
    await operator.click('tr[data-job="deploy"] button.run-now');
    await operator.waitForSelector('dialog[open] #param-VERSION');
    expect(await axeViolations(operator)).to.deep.equal([]);
    await screenshot(operator, 'run-parameters');
    await operator.type('#param-VERSION', '1.2.3');
    await operator.click('dialog button[type="submit"]');
    await waitForText(operator, '.notice', 'Started deploy');
    await operator.click('.notice a');
    await waitForText(operator, 'pre.output', 'deploying 1.2.3');
    expect(await textOf(operator, '.facts')).to.include('VERSION=1.2.3');
  });

  it('disables a job from the view, and the API says so', async () => {
    await operator.goto(`${t.url}/ui/#/jobs`);
    await operator.waitForSelector('tr[data-job="nightly"] input[role="switch"]');
    await operator.click('tr[data-job="nightly"] input[role="switch"]');
    await waitForText(operator, '.notice', 'nightly is now disabled');
    await operator.waitForFunction(
      '!document.querySelector(\'tr[data-job="nightly"] input[role="switch"]\').checked',
    );
    const job = await t.as(TOKENS.read).get('/api/v1/jobs/nightly');
    expect(job.json.enabled).to.equal(false);
    await screenshot(operator, 'jobs');
  });

  it('shows a read-only token no write buttons', async () => {
    const { page } = await newPage();
    await signIn(page, TOKENS.read);
    await page.waitForSelector('tr[data-job="slow"]');
    expect(await textOf(page, 'header .who')).to.include('read');
    expect(await page.$$('button.run-now')).to.have.length(0);
    expect(await page.$$('input[role="switch"]')).to.have.length(0);
    await page.goto(`${t.url}/ui/#/problems`);
    await waitForText(page, 'h2', 'Config errors');
    expect(await page.$$eval('h2', (hs) => hs.map((h) => h.textContent))).to.not.include('Dead letters');
  });

  const VIEWS = ['jobs', 'running', 'history', 'history?job=greet&status=succeeded', 'nodes', 'problems'];

  for (const [width, scheme] of [
    [1280, 'light'],
    [375, 'dark'],
  ] as const) {
    it(`has no serious or critical axe-core violation on any view at ${width} px, ${scheme}`, async () => {
      const { page, problems } = await newPage(width);
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
      await signIn(page, TOKENS.admin);
      await page.waitForSelector('tr[data-job]');
      for (const view of VIEWS) {
        await page.goto(`${t.url}/ui/#/${view}`, { waitUntil: 'networkidle0' });
        await page.waitForSelector('main h1');
        await page.waitForFunction('!document.querySelector("main p[role=status]")', { timeout: 10_000 });
        const name = `${view.split('?')[0]}${view.includes('?') ? '-filtered' : ''}-${width}-${scheme}`;
        await screenshot(page, name);
        expect(await axeViolations(page), name).to.deep.equal([]);
        if (width === 375) {
          const overflow = await page.evaluate('document.documentElement.scrollWidth - innerWidth');
          expect(overflow, `${name}: page wider than the screen`).to.be.at.most(0);
        }
      }
      expect(problems.errors.filter((e) => /Content.Security.Policy|Refused/i.test(e))).to.deep.equal([]);
    });
  }

  it('kept the Content-Security-Policy unviolated and threw nothing on the operator page', () => {
    expect(operatorProblems.errors.filter((e) => !/status of 40[13]/.test(e))).to.deep.equal([]);
  });
});

/** fetch() cannot set Host; a page reached through DNS rebinding sends the attacker's name. */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web console turned off (--no-ui)', function () {
  this.timeout(60_000);
  it('answers 404 at /ui/ and keeps the API', async () => {
    const t = await TestApi.start({ options: { ui: false } });
    try {
      expect((await fetch(`${t.url}/ui/`)).status).to.equal(404);
      expect((await fetch(`${t.url}/api/v1/whoami`)).status).to.equal(200);
    } finally {
      await t.close();
    }
  });
});
