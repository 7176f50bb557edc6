/**
 * A real headless Chromium for the web console tests: Debian's /usr/bin/chromium driven by
 * puppeteer-core (never a downloaded browser). A missing browser skips the suite loudly, and
 * fails it under CI=true. The console bundle is built first when it is missing or older than
 * its sources, so `npm test` works without `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { skipSuite } from './skip.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const CHROMIUM = process.env.DISTCRON_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of each view, for people to look at (ignored by git). */
export const SCREENSHOT_DIR = process.env.DISTCRON_SCREENSHOTS ?? join(ROOT, '.cache', 'ui-screenshots');

/** Builds dist/ui when any file of src/ui is newer than the bundle. */
export function ensureConsoleBuilt(): void {
  const bundle = join(ROOT, 'dist', 'ui', 'app.js');
  const src = join(ROOT, 'src', 'ui');
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (newest <= built) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs'), '--quiet'], { stdio: 'inherit' });
}

/** Launches Chromium in `before` (skipping the suite when it is missing); closes it in `after`. */
export function useBrowser(suite: string): { browser: Browser } {
  const holder = {} as { browser: Browser };
  before(async function () {
    this.timeout(120_000);
    if (!existsSync(CHROMIUM))
      skipSuite(this, suite, `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    ensureConsoleBuilt();
    holder.browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  });
  after(async () => {
    await holder.browser?.close();
  });
  return holder;
}

export interface PageProblems {
  /** Console errors and failed requests (a CSP refusal shows up here). */
  errors: string[];
}

/** A page that records console errors and uncaught exceptions. */
export async function openPage(
  browser: Browser,
  width = 1280,
): Promise<{ page: Page; problems: PageProblems }> {
  const page = await browser.newPage();
  const problems: PageProblems = { errors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(m.text());
  });
  page.on('pageerror', (e) => problems.errors.push(String(e)));
  await page.setViewport({ width, height: 900 });
  return { page, problems };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core's serious and critical violations on the page as it is. axe is evaluated through the
 * DevTools protocol, so the page's Content-Security-Policy stays on.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axeSource);
  const found = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`)) as AxeViolation[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
