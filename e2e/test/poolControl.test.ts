import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PoolView } from '@lilac/common';
import { drvPath, storePath } from '@lilac/server/testing/attestations';
import type { TestBuilder, TestServer } from '@lilac/server/testing';
import type { Browser, Page } from 'playwright-core';
import { openPage, serverAndBrowser } from './support/browser.ts';

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let maintainerToken: string;
const [first, second] = [storePath('queued-first-1.0'), storePath('queued-second-1.0')];

async function live(page: Page): Promise<void> {
  await page.getByTestId('connection-state').filter({ hasText: 'live' }).waitFor();
}

/** The output paths the pool card lists under "Claimed and next", in its order. */
function listed(page: Page): Promise<string[]> {
  return page.getByTestId('pool-jobs').locator('li').evaluateAll((items) => items.map((item) => item.getAttribute('data-path') ?? ''));
}

async function waitForListed(page: Page, expected: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let shown = await listed(page);
  while (JSON.stringify(shown) !== JSON.stringify(expected)) {
    assert.ok(Date.now() < deadline, `the pool card listed ${JSON.stringify(shown)}, never ${JSON.stringify(expected)}`);
    await page.waitForTimeout(100);
    shown = await listed(page);
  }
}

before(async () => {
  ({ server, alice, browser } = await serverAndBrowser());
  maintainerToken = await server.createMember('mira', 'maintainer');
  const jobs = [first, second].map((outPath) => ({ drvPath: drvPath(outPath.slice(44)), output: 'out', outPath }));
  assert.equal((await server.request('/api/v1/jobs', { method: 'POST', token: alice.token, json: jobs })).status, 200);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('a maintainer reorders and cancels jobs from the pool card; an anonymous viewer sees both live and gets no controls', async () => {
  const maintainer = await openPage(browser, `${server.url}/sign-in`);
  await maintainer.page.getByTestId('token-input').fill(maintainerToken);
  await maintainer.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await maintainer.page.getByTestId('me').filter({ hasText: 'mira (maintainer)' }).waitFor();
  await maintainer.page.goto(server.url);
  const viewer = await openPage(browser, server.url);
  await Promise.all([live(maintainer.page), live(viewer.page)]);
  await Promise.all([waitForListed(maintainer.page, [first, second]), waitForListed(viewer.page, [first, second])]);
  assert.equal(await viewer.page.getByTestId('job-cancel').count(), 0, 'an anonymous viewer gets no cancel button');
  assert.equal(await viewer.page.getByTestId('job-priority').count(), 0, 'nor a priority field');

  const secondRow = maintainer.page.locator(`[data-testid="pool-jobs"] li[data-path="${second}"]`);
  await secondRow.getByTestId('job-priority').fill('5');
  await secondRow.getByTestId('job-priority').press('Enter');
  await Promise.all([waitForListed(maintainer.page, [second, first]), waitForListed(viewer.page, [second, first])]);
  assert.match((await viewer.page.locator(`[data-testid="pool-jobs"] li[data-path="${second}"]`).textContent()) ?? '', /priority 5/);

  await maintainer.page.locator(`[data-testid="pool-jobs"] li[data-path="${first}"]`).getByTestId('job-cancel').click();
  await Promise.all([waitForListed(maintainer.page, [second]), waitForListed(viewer.page, [second])]);
  await viewer.page.getByTestId('pool-stats').locator('div', { hasText: 'cancelled' }).locator('dd').filter({ hasText: '1' }).waitFor();

  const pool = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  const stateOf = (outPath: string) => pool.jobs.find((job) => job.outPath === outPath);
  assert.deepEqual([stateOf(first)?.state, stateOf(first)?.outcome], ['cancelled', { kind: 'cancelled', log: '', by: 'mira' }]);
  assert.deepEqual([stateOf(second)?.state, stateOf(second)?.priority], ['queued', 5]);
  assert.deepEqual(await listed(viewer.page), [second]);
  assert.deepEqual([...maintainer.errors, ...viewer.errors], []);
});
