import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from './support/processes.ts';

// No Docker engine runs here, so the wiring is checked by reading the files.
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
}
const compose = parse(readFileSync(`${repoRoot}/docker-compose.yml`, 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };

test('MongoDB runs as a single-node replica set with a health check and a persistent volume', () => {
  const mongodb = compose.services.mongodb!;
  assert.ok(mongodb.image?.startsWith('mongo:'));
  assert.deepEqual(mongodb.command?.slice(0, 3), ['mongod', '--replSet', 'rs0']);
  const healthcheck = mongodb.healthcheck?.test.join(' ') ?? '';
  assert.match(healthcheck, /rs\.initiate/);
  assert.match(healthcheck, /isWritablePrimary/);
  const volume = mongodb.volumes?.[0]?.split(':');
  assert.equal(volume?.[1], '/data/db');
  assert.ok(volume?.[0] && volume[0] in compose.volumes, 'the data volume is a named volume');
});

test('the server is built from the multi-stage Dockerfile and waits for a healthy MongoDB', () => {
  const lilac = compose.services.lilac!;
  assert.equal(lilac.build?.dockerfile, 'Dockerfile');
  assert.deepEqual(lilac.depends_on, { mongodb: { condition: 'service_healthy' } });
  assert.match(lilac.environment?.MONGODB_URI ?? '', /^mongodb:\/\/mongodb:27017\/.*replicaSet=rs0/);
  const dockerfile = readFileSync(`${repoRoot}/Dockerfile`, 'utf8');
  assert.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'two stages');
  assert.match(dockerfile, /COPY --from=build/);
});
