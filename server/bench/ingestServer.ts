/**
 * The server under an ingest benchmark, in a process of its own so that its
 * RSS and CPU are its own and the clients do not share its event loop.
 * Prints one JSON line `{ url, pid, builders: [{ name, token, seed }] }`
 * (seed: the base64 Ed25519 seed of the builder's key), then serves until
 * its stdin closes.
 */
import { destination, pino } from 'pino';
import { startTestServer } from '../test/support/testServer.ts';

const count = Number(process.env.LILAC_BENCH_BUILDERS ?? '16');
// Warnings and errors go to stderr, which the bench shares (stdout carries the ready line): a run that fails says why.
const log = pino({ level: process.env.LILAC_BENCH_LOG_LEVEL ?? 'warn', base: { service: 'lilac-bench-server' } }, destination(2));
const server = await startTestServer({}, log);
const builders = [];
for (let index = 0; index < count; index++) {
  const builder = await server.createBuilder(`bench-${index}`);
  builders.push({ name: builder.name, keyName: builder.secretKey.name, token: builder.token, seed: Buffer.from(builder.secretKey.bytes.slice(0, 32)).toString('base64') });
}
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid, builders })}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  void server.close().then(() => process.exit(0));
});
