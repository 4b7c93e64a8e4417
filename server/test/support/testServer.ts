import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPair, formatKey, type MemberRole, type NamedKey } from '@lilac/common';
import { loadConfig, type Config } from '../../src/config.ts';
import { startLilacServer, type LilacServer } from '../../src/lilacServer.ts';
import { createLogger, type Logger } from '../../src/log.ts';

/**
 * A real lilac server on a fresh database of the test store: MONGODB_URI when
 * given (`npm test` points it at the embedded FerretDB it started, or at the
 * MongoDB you set), else an embedded store of its own.
 */
export interface TestServer extends LilacServer {
  /** Creates a builder with a fresh key pair and token. */
  createBuilder(name: string): Promise<TestBuilder>;
  /** Creates a member (a person) and returns its token. */
  createMember(name: string, role: MemberRole): Promise<string>;
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  /** Closes like `close()` but keeps the database, so another test server can start on it (`{ port, dbName, dataDir }`). */
  closeKeepingDatabase(): Promise<void>;
}

export interface TestBuilder {
  readonly name: string;
  readonly token: string;
  readonly secretKey: NamedKey;
  readonly publicKey: string;
}

/** A test server with builders `alice` and `bob`, the cast most tests need. */
export async function startServerWithAliceAndBob(overrides: Partial<Config> = {}): Promise<{ server: TestServer; alice: TestBuilder; bob: TestBuilder }> {
  const server = await startTestServer(overrides);
  const [alice, bob] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob')]);
  return { server, alice, bob };
}

/** `log`: where the server logs (default: nowhere, or at `LILAC_TEST_LOG_LEVEL` on stdout). */
export async function startTestServer(overrides: Partial<Config> = {}, log: Logger = createLogger(process.env.LILAC_TEST_LOG_LEVEL ?? 'silent')): Promise<TestServer> {
  const config: Config = {
    ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }),
    dbName: `lilac_test_${randomBytes(6).toString('hex')}`,
    dataDir: mkdtempSync(path.join(tmpdir(), 'lilac-test-store-')),
    ...overrides,
  };
  const server = await startLilacServer(config, log, { waitForStore: true });
  return {
    ...server,
    async close() {
      await server.context.store.connection.dropDatabase().catch(() => undefined);
      await server.close();
    },
    closeKeepingDatabase() {
      return server.close();
    },
    async createBuilder(name) {
      const { secretKey, publicKey } = generateKeyPair(`${name}-1`);
      const { token } = await server.context.builders.create(name, { publicKeys: [formatKey(publicKey)] });
      return { name, token, secretKey, publicKey: formatKey(publicKey) };
    },
    async createMember(name, role) {
      return (await server.context.members.create(name, role)).token;
    },
    request(path, init = {}) {
      const { token, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${server.url}${path}`, { ...rest, headers, ...(json !== undefined && { body: JSON.stringify(json) }) });
    },
  };
}
