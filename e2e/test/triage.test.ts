import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drvHash, drvPath, lilaItem, narHash, storePath, type Built } from '@lilac/server/testing/attestations';
import type { TestBuilder, TestServer } from '@lilac/server/testing';
import type { Browser, Page } from 'playwright-core';
import { openPage, screenshot, serverAndBrowser } from './support/browser.ts';

const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let bob: TestBuilder;
let maintainerToken: string;
const hello = storePath('hello-2.12');
const helloDrv = drvPath('hello-2.12');

async function attest(builder: TestBuilder, built: Built): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(helloDrv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, built)] });
  assert.equal(response.status, 200, await response.text());
}

async function live(page: Page): Promise<void> {
  await page.getByTestId('connection-state').filter({ hasText: 'live' }).waitFor();
}

before(async () => {
  ({ server, alice, bob, browser } = await serverAndBrowser());
  maintainerToken = await server.createMember('max', 'maintainer');
  await attest(alice, { outPath: hello, narHash: narHash('hello-a') });
  await attest(bob, { outPath: hello, narHash: narHash('hello-b') });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('a maintainer triages and comments; an anonymous viewer sees both without reload, and each sees the other looking', async () => {
  const outputUrl = `${server.url}/output/${hello.slice('/nix/store/'.length)}`;
  // Two browser contexts: no cookie is shared between them.
  const maintainer = await openPage(browser, `${server.url}/sign-in`);
  await maintainer.page.getByTestId('token-input').fill(maintainerToken);
  await maintainer.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await maintainer.page.getByTestId('me').filter({ hasText: 'max (maintainer)' }).waitFor();
  await maintainer.page.goto(outputUrl);
  const viewer = await openPage(browser, outputUrl);
  await Promise.all([live(maintainer.page), live(viewer.page)]);

  await viewer.page.getByTestId('presence-member').filter({ hasText: 'max' }).waitFor();
  await maintainer.page.getByTestId('presence-anonymous').filter({ hasText: '1 anonymous viewer' }).waitFor();
  assert.equal(await viewer.page.getByTestId('triage-form').count(), 0, 'an anonymous viewer gets no triage form');

  await maintainer.page.getByTestId('triage-status-select').selectOption('investigating');
  await maintainer.page.getByTestId('triage-note-input').fill(XSS);
  await maintainer.page.getByTestId('triage-save').click();
  await viewer.page.getByTestId('triage-status').filter({ hasText: 'investigating' }).waitFor();
  await viewer.page.getByTestId('triage-note').filter({ hasText: XSS }).waitFor();
  await viewer.page.getByTestId('triage-timeline').filter({ hasText: 'max' }).waitFor();

  await maintainer.page.getByTestId('comment-input').fill(`**looking** at it ${XSS}`);
  await maintainer.page.getByTestId('comment-submit').click();
  const comment = viewer.page.getByTestId('comment-body');
  await comment.filter({ hasText: 'looking at it' }).waitFor();
  assert.equal(await comment.locator('strong').textContent(), 'looking');
  assert.ok((await comment.textContent())?.includes(XSS), 'the markup is shown as text');
  assert.equal(await comment.locator('img, script').count(), 0);

  await maintainer.page.getByTestId('watch-toggle').click();
  await maintainer.page.getByTestId('watch-toggle').filter({ hasText: 'Watching' }).waitFor();
  const feed = await (await server.request('/api/v1/members/max/feed.atom')).text();
  assert.ok(feed.includes(`${hello.slice('/nix/store/'.length)}: triage changed by max`), 'the watched output is in the member\'s feed');
  assert.equal(await viewer.page.getByTestId('watch-toggle').count(), 0, 'an anonymous viewer has no watch list');

  await screenshot(viewer.page, 'output-triage-viewer');
  await screenshot(maintainer.page, 'output-triage-maintainer');
  assert.deepEqual([...maintainer.dialogs, ...viewer.dialogs], [], 'no script ran');
  assert.deepEqual([...maintainer.errors, ...viewer.errors], []);

  await viewer.page.close();
  await maintainer.page.getByTestId('presence-anonymous').waitFor({ state: 'detached' });
  await maintainer.page.close();
});

test('signing in goes back to the page the person came from, or home when they came to sign in', async () => {
  const outputPath = `/output/${hello.slice('/nix/store/'.length)}`;
  const fromOutput = await openPage(browser, `${server.url}${outputPath}`);
  await fromOutput.page.getByTestId('me').click();
  await fromOutput.page.getByTestId('token-input').fill(maintainerToken);
  await fromOutput.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await fromOutput.page.waitForURL(`${server.url}${outputPath}`);
  await fromOutput.page.getByTestId('me').filter({ hasText: 'max (maintainer)' }).waitFor();

  const direct = await openPage(browser, `${server.url}/sign-in`);
  await direct.page.getByTestId('token-input').fill(maintainerToken);
  await direct.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await direct.page.waitForURL(`${server.url}/`);
  await direct.page.getByTestId('me').filter({ hasText: 'max (maintainer)' }).waitFor();
  assert.deepEqual([...fromOutput.errors, ...direct.errors], []);
  await fromOutput.page.close();
  await direct.page.close();
});
