import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './support/testServer.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test('healthz reports the store connected', async () => {
  const response = await server.request('/healthz');
  assert.equal(response.status, 200);
  const body = (await response.json()) as { status: string; store: { state: string; kind: string } };
  assert.equal(body.status, 'ok');
  assert.equal(body.store.state, 'connected');
  assert.equal(body.store.kind, process.env.MONGODB_URI ? 'mongodb' : 'embedded-ferretdb');
});

test('metrics are exposed in Prometheus text format and count requests', async () => {
  await server.request('/healthz');
  const response = await server.request('/metrics');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  const text = await response.text();
  assert.match(text, /lilac_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
});

test('an unknown route answers 404 in lila error shape', async () => {
  const response = await server.request('/no/such/thing');
  assert.equal(response.status, 404);
  assert.deepEqual(await response.json(), { detail: 'no route for GET /no/such/thing' });
});
