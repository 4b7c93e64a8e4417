import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from '@lilac/server/testing';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));

/** The server serves `web/dist`; `npm test` builds it first, a test run on its own builds it when missing. */
export function ensureWebBuilt(): void {
  if (existsSync(`${root}web/dist/index.html`)) return;
  const built = spawnSync('npm', ['run', 'build', '-w', 'web'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the web app failed');
}

/** Debian's Chromium (never a downloaded one), headless, with nothing reaching beyond loopback. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.LILAC_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** What a browser test starts from: the web app built, a test server with builders alice and bob, and Chromium. */
export async function serverAndBrowser(): Promise<{ server: TestServer; alice: TestBuilder; bob: TestBuilder; browser: Browser }> {
  ensureWebBuilt();
  const [{ server, alice, bob }, browser] = await Promise.all([startServerWithAliceAndBob(), launchChromium()]);
  return { server, alice, bob, browser };
}

/** A page that records script dialogs and uncaught errors, so a test can assert that none happened. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return { page, dialogs, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}
