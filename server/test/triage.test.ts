import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CommentView, MeView, MonitorWireEvents, OutputDetail, TriageHistoryEntry, TriageView, UntriagedItem } from '@lilac/common';
import { io as connect } from 'socket.io-client';
import { drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

let server: TestServer;
let builders: TestBuilder[];
const tokens: Record<'viewer' | 'maintainer' | 'admin' | 'otherViewer', string> = { viewer: '', maintainer: '', admin: '', otherViewer: '' };
before(async () => {
  server = await startTestServer();
  builders = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((name) => server.createBuilder(name)));
  tokens.viewer = await server.createMember('vera', 'viewer');
  tokens.otherViewer = await server.createMember('otto', 'viewer');
  tokens.maintainer = await server.createMember('max', 'maintainer');
  tokens.admin = await server.createMember('ada', 'admin');
});
after(() => server.close());

async function attest(builder: TestBuilder, drv: string, outPath: string, seed: string): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, { outPath, narHash: narHash(seed) })] });
  assert.equal(response.status, 200, await response.clone().text());
}

/** An output two builders disagree on; its `digest-name` for the API. */
async function divergentOutput(name: string): Promise<{ outPath: string; drv: string; baseName: string }> {
  const drv = drvPath(name);
  const outPath = storePath(name);
  await attest(builders[0]!, drv, outPath, `${outPath}:a`);
  await attest(builders[1]!, drv, outPath, `${outPath}:b`);
  return { outPath, drv, baseName: outPath.slice('/nix/store/'.length) };
}

function putTriage(baseName: string, body: unknown, init: { token?: string; headers?: Record<string, string> } = {}) {
  return server.request(`/api/v1/outputs/${baseName}/triage`, { method: 'PUT', json: body, ...init });
}

async function detail(baseName: string): Promise<OutputDetail> {
  const response = await server.request(`/api/v1/outputs/${baseName}`);
  assert.equal(response.status, 200);
  return (await response.json()) as OutputDetail;
}

async function detailOf(response: Response): Promise<string> {
  return ((await response.json()) as { detail: string }).detail;
}

test('PUT triage: anonymous 401, a builder token 403, a viewer 403, a maintainer and an admin 200', async () => {
  const { baseName } = await divergentOutput('roles');
  assert.equal((await putTriage(baseName, { status: 'investigating' })).status, 401);
  const asBuilder = await putTriage(baseName, { status: 'investigating' }, { token: builders[0]!.token });
  assert.equal(asBuilder.status, 403);
  assert.match(await detailOf(asBuilder), /builders' tokens never act as people/);
  const asViewer = await putTriage(baseName, { status: 'investigating' }, { token: tokens.viewer });
  assert.equal(asViewer.status, 403);
  assert.match(await detailOf(asViewer), /vera is a viewer; this needs a maintainer or above/);
  assert.equal((await putTriage(baseName, { status: 'investigating' }, { token: tokens.maintainer })).status, 200);
  assert.equal((await putTriage(baseName, { status: 'known-cause' }, { token: tokens.admin })).status, 200);
  assert.equal((await detail(baseName)).triage?.status, 'known-cause');
});

test('through the session cookie a triage change needs the CSRF header', async () => {
  const { baseName } = await divergentOutput('csrf');
  const signIn = await server.request('/api/v1/session', { method: 'POST', json: { token: tokens.maintainer } });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const me = (await signIn.json()) as MeView;
  const forged = await putTriage(baseName, { status: 'wont-fix' }, { headers: { cookie } });
  assert.equal(forged.status, 403);
  assert.equal((await detail(baseName)).triage, null, 'nothing written');
  const real = await putTriage(baseName, { status: 'wont-fix' }, { headers: { cookie, 'x-csrf-token': me.csrfToken! } });
  assert.equal(real.status, 200);
});

test('bad triage input is refused whole and writes nothing', async () => {
  const { baseName } = await divergentOutput('bad-input');
  const refusals: [unknown, RegExp][] = [
    [{ status: 'done' }, /status must be one of new, investigating, known-cause, fixed, wont-fix/],
    [{ causes: ['gremlins'] }, /causes must be a list of timestamps, build-path/],
    [{ links: ['javascript:alert(1)'] }, /links must be http\(s\) URLs/],
    [{ links: Array.from({ length: 11 }, (_, index) => `https://example.org/${index}`) }, /at most 10 links/],
    [{ note: 'x'.repeat(2001) }, /note is longer than 2000 characters/],
    [{ assignee: 'nobody-here' }, /no member named "nobody-here"/],
    [{ status: 'fixed', color: 'red' }, /unknown field color/],
    [['fixed'], /send a JSON object/],
  ];
  for (const [body, reason] of refusals) {
    const response = await putTriage(baseName, body, { token: tokens.maintainer });
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.match(await detailOf(response), reason);
  }
  assert.equal((await detail(baseName)).triage, null);
});

test('only outputs whose builders disagree are triaged', async () => {
  const drv = drvPath('agreeing');
  const outPath = storePath('agreeing');
  await attest(builders[0]!, drv, outPath, 'same');
  await attest(builders[1]!, drv, outPath, 'same');
  const response = await putTriage(outPath.slice('/nix/store/'.length), { status: 'investigating' }, { token: tokens.maintainer });
  assert.equal(response.status, 409);
  assert.equal((await putTriage(storePath('never-attested').slice('/nix/store/'.length), { status: 'new' }, { token: tokens.maintainer })).status, 404);
});

test('every change is kept with who, when and what changed; a change that changes nothing adds nothing', async () => {
  const { baseName, outPath } = await divergentOutput('history');
  await putTriage(baseName, { status: 'investigating', assignee: 'max' }, { token: tokens.maintainer });
  await putTriage(baseName, { causes: ['timestamps', 'build-path'], links: ['https://github.com/NixOS/nixpkgs/issues/1'], note: 'jar timestamps' }, { token: tokens.admin });
  await putTriage(baseName, { note: 'jar timestamps' }, { token: tokens.admin });
  const { triage, history } = await detail(baseName);
  assert.deepEqual(
    { ...triage, updatedAt: undefined },
    {
      outPath,
      status: 'investigating',
      assignee: 'max',
      causes: ['timestamps', 'build-path'],
      links: ['https://github.com/NixOS/nixpkgs/issues/1'],
      note: 'jar timestamps',
      reopened: false,
      fixedAt: null,
      fixConfirmed: false,
      updatedAt: undefined,
      updatedBy: 'ada',
    },
  );
  assert.deepEqual(
    history.map(({ by, changes }: TriageHistoryEntry) => ({ by, changes })),
    [
      { by: 'max', changes: [{ field: 'status', from: 'new', to: 'investigating' }, { field: 'assignee', from: null, to: 'max' }] },
      {
        by: 'ada',
        changes: [
          { field: 'causes', from: [], to: ['timestamps', 'build-path'] },
          { field: 'links', from: [], to: ['https://github.com/NixOS/nixpkgs/issues/1'] },
          { field: 'note', from: '', to: 'jar timestamps' },
        ],
      },
    ],
  );
});

test('an output marked fixed whose newer builds disagree is reopened and flagged, by lilac, live', async () => {
  const { baseName, outPath, drv } = await divergentOutput('reopen');
  const monitor = connect(`${server.url}/monitor`, { transports: ['websocket'] });
  try {
    await new Promise<void>((resolve) => monitor.once('connect', resolve));
    assert.equal((await putTriage(baseName, { status: 'fixed' }, { token: tokens.maintainer })).status, 200);
    const fixed = await detail(baseName);
    assert.ok(fixed.triage?.fixedAt);
    assert.equal(fixed.triage?.fixConfirmed, false);

    const reopened = new Promise<MonitorWireEvents['triage']>((resolve) =>
      monitor.on('triage', (event: MonitorWireEvents['triage']) => {
        if (event.outPath === outPath && event.triage.reopened) resolve(event);
      }),
    );
    // One newer build, with a hash new to the output, is no evidence either way yet.
    await attest(builders[2]!, drv, outPath, `${outPath}:c`);
    assert.equal((await detail(baseName)).triage?.status, 'fixed');
    // A second newer build that disagrees with the first: the fix did not hold.
    await attest(builders[3]!, drv, outPath, `${outPath}:a`);
    const event = await reopened;
    assert.equal(event.change.by, 'lilac');
    const { triage, history } = await detail(baseName);
    assert.equal(triage?.status, 'investigating');
    assert.equal(triage?.reopened, true);
    assert.equal(triage?.fixedAt, null);
    assert.deepEqual(history.at(-1)?.changes, [
      { field: 'status', from: 'fixed', to: 'investigating' },
      { field: 'reopened', from: false, to: true },
    ]);
    assert.equal((await putTriage(baseName, { status: 'known-cause' }, { token: tokens.maintainer })).status, 200);
    assert.equal((await detail(baseName)).triage?.reopened, false, 'a person who sets the status has seen the reopening');
  } finally {
    monitor.close();
  }
});

test('a fix is confirmed once two builders attest after it was marked and agree', async () => {
  const drv = drvPath('confirm');
  const outPath = storePath('confirm');
  const baseName = outPath.slice('/nix/store/'.length);
  await attest(builders[0]!, drv, outPath, 'old-a');
  await attest(builders[1]!, drv, outPath, 'old-b');
  await putTriage(baseName, { status: 'fixed' }, { token: tokens.maintainer });
  await attest(builders[2]!, drv, outPath, 'new');
  await attest(builders[3]!, drv, outPath, 'new');
  const { triage } = await detail(baseName);
  assert.equal(triage?.status, 'fixed', 'the newer builds agree, though their hash is new to the output');
  assert.equal(triage?.fixConfirmed, true);
});

test('comments: anonymous 401, builder 403, any member writes; XSS payloads stay text; links get rel=noopener nofollow', async () => {
  const { baseName } = await divergentOutput('comments');
  const path = `/api/v1/outputs/${baseName}/comments`;
  const payload = '<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) [ok](https://example.org/x) ![i](https://example.org/i.png)';
  assert.equal((await server.request(path, { method: 'POST', json: { body: 'hi' } })).status, 401);
  assert.equal((await server.request(path, { method: 'POST', json: { body: 'hi' }, token: builders[0]!.token })).status, 403);
  assert.equal((await server.request(path, { method: 'POST', json: { body: 'x'.repeat(10_001) }, token: tokens.viewer })).status, 400);
  const created = await server.request(path, { method: 'POST', json: { body: payload }, token: tokens.viewer });
  assert.equal(created.status, 201);
  const comment = (await created.json()) as CommentView;
  assert.equal(comment.body, payload);
  assert.doesNotMatch(comment.html, /<(script|img)\b|href="javascript/);
  assert.match(comment.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(comment.html, /<a href="https:\/\/example\.org\/x" rel="noopener nofollow" target="_blank">ok<\/a>/);
  assert.deepEqual((await detail(baseName)).comments.map((view) => view.id), [comment.id]);
});

test('a comment is edited or deleted by its author or an admin, nobody else', async () => {
  const { baseName } = await divergentOutput('comment-edits');
  const path = `/api/v1/outputs/${baseName}/comments`;
  const first = (await (await server.request(path, { method: 'POST', json: { body: 'first' }, token: tokens.viewer })).json()) as CommentView;
  const second = (await (await server.request(path, { method: 'POST', json: { body: 'second' }, token: tokens.viewer })).json()) as CommentView;
  const byOther = await server.request(`${path}/${first.id}`, { method: 'PATCH', json: { body: 'mine now' }, token: tokens.otherViewer });
  assert.equal(byOther.status, 403);
  const byMaintainer = await server.request(`${path}/${first.id}`, { method: 'DELETE', token: tokens.maintainer });
  assert.equal(byMaintainer.status, 403);
  const edited = await server.request(`${path}/${first.id}`, { method: 'PATCH', json: { body: 'first, edited' }, token: tokens.viewer });
  assert.equal(edited.status, 200);
  assert.ok(((await edited.json()) as CommentView).editedAt);
  assert.equal((await server.request(`${path}/${second.id}`, { method: 'DELETE', token: tokens.admin })).status, 204);
  assert.equal((await server.request(`${path}/nope`, { method: 'DELETE', token: tokens.admin })).status, 404);
  assert.deepEqual(
    (await detail(baseName)).comments.map((view) => view.body),
    ['first, edited'],
  );
});

test('triage changes and comments reach an anonymous monitor at once', async () => {
  const { baseName, outPath } = await divergentOutput('live');
  const monitor = connect(`${server.url}/monitor`, { transports: ['websocket'] });
  try {
    await new Promise<void>((resolve) => monitor.once('connect', resolve));
    const triaged = new Promise<MonitorWireEvents['triage']>((resolve) => monitor.once('triage', resolve));
    const commented = new Promise<MonitorWireEvents['comment']>((resolve) => monitor.once('comment', resolve));
    await putTriage(baseName, { status: 'investigating', note: '<b>bold</b>' }, { token: tokens.maintainer });
    await server.request(`/api/v1/outputs/${baseName}/comments`, { method: 'POST', json: { body: 'looking' }, token: tokens.maintainer });
    const triage = await triaged;
    assert.equal(triage.outPath, outPath);
    assert.equal((triage.triage as TriageView).note, '<b>bold</b>');
    assert.equal((await commented).comment.author, 'max');
  } finally {
    monitor.close();
  }
});

test('the untriaged queue lists recent divergences without a record or still new', async () => {
  const untouched = await divergentOutput('queue-untouched');
  const taken = await divergentOutput('queue-taken');
  await putTriage(taken.baseName, { status: 'investigating' }, { token: tokens.maintainer });
  const response = await server.request('/api/v1/triage/untriaged?limit=500');
  const items = (await response.json()) as UntriagedItem[];
  const listed = new Set(items.map((item) => item.outPath));
  assert.ok(listed.has(untouched.outPath));
  assert.ok(!listed.has(taken.outPath));
});

test('every member route: anonymous 401, a builder token 403, a viewer 403 where a maintainer is needed', async () => {
  const { baseName } = await divergentOutput('every-route');
  const routes: { method: string; path: string; body?: unknown; needs: 'viewer' | 'maintainer' }[] = [
    { method: 'GET', path: '/api/v1/me', needs: 'viewer' },
    { method: 'PUT', path: '/api/v1/me/password', body: { password: 'x' }, needs: 'viewer' },
    { method: 'DELETE', path: '/api/v1/session', needs: 'viewer' },
    { method: 'PUT', path: `/api/v1/outputs/${baseName}/triage`, body: { status: 'new' }, needs: 'maintainer' },
    { method: 'POST', path: `/api/v1/outputs/${baseName}/comments`, body: { body: 'x' }, needs: 'viewer' },
    { method: 'PATCH', path: `/api/v1/outputs/${baseName}/comments/x`, body: { body: 'x' }, needs: 'viewer' },
    { method: 'DELETE', path: `/api/v1/outputs/${baseName}/comments/x`, needs: 'viewer' },
    { method: 'GET', path: '/api/v1/me/watch', needs: 'viewer' },
    { method: 'PUT', path: `/api/v1/me/watch/${baseName}`, needs: 'viewer' },
    { method: 'DELETE', path: `/api/v1/me/watch/${baseName}`, needs: 'viewer' },
    { method: 'PUT', path: '/api/v1/link-patterns', body: { pattern: '^x', link: 'https://example.org' }, needs: 'maintainer' },
    { method: 'DELETE', path: '/api/v1/link-patterns?pattern=x', needs: 'maintainer' },
  ];
  for (const route of routes) {
    const init = { method: route.method, ...(route.body !== undefined && { json: route.body }) };
    assert.equal((await server.request(route.path, init)).status, 401, `${route.method} ${route.path} anonymous`);
    assert.equal((await server.request(route.path, { ...init, token: builders[0]!.token })).status, 403, `${route.method} ${route.path} builder`);
    const asViewer = (await server.request(route.path, { ...init, token: tokens.otherViewer })).status;
    if (route.needs === 'maintainer') assert.equal(asViewer, 403, `${route.method} ${route.path} viewer`);
    else assert.notEqual(asViewer, 403, `${route.method} ${route.path} viewer`);
  }
});
