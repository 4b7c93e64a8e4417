/**
 * `npm run bench -- triage`: how fast a triage change reaches open pages.
 * 50 `/monitor` clients (each a "page": a Socket.IO connection that joined
 * the output's presence room, as the web app's output page does) listen while
 * a maintainer sends 200 triage PUTs one after another. For each PUT: the time
 * from sending it to the event arriving at every one of the 50 pages (the
 * slowest page), and to each page (all 10,000 arrivals).
 */
import { performance } from 'node:perf_hooks';
import type { MonitorWireEvents } from '@lilac/common';
import { io as connect, type Socket } from 'socket.io-client';
import { drvHash, drvPath, lilaItem, narHash, storePath } from '../test/support/attestationFixtures.ts';
import { startTestServer } from '../test/support/testServer.ts';

const PAGES = 50;
const CHANGES = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const server = await startTestServer();
const sockets: Socket[] = [];
try {
  const [alice, bob] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob')]);
  const maintainer = await server.createMember('max', 'maintainer');
  const outPath = storePath('bench-triage');
  const drv = drvPath('bench-triage');
  for (const builder of [alice, bob]) {
    const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, { outPath, narHash: narHash(builder.name) })] });
    if (!response.ok) throw new Error(await response.text());
  }
  const baseName = outPath.slice('/nix/store/'.length);

  // Each arrival is stamped as it comes in; this process holds both ends, so one clock serves.
  const arrivals = new Map<string, number[]>();
  let allArrived: { note: string; resolve: () => void } | null = null;
  for (let index = 0; index < PAGES; index += 1) {
    const socket = connect(`${server.url}/monitor`, { transports: ['websocket'], forceNew: true });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.emit('presence:join', `output:${baseName}`);
    socket.on('triage', (event: MonitorWireEvents['triage']) => {
      const at = performance.now();
      const list = arrivals.get(event.triage.note) ?? [];
      list.push(at);
      arrivals.set(event.triage.note, list);
      if (allArrived?.note === event.triage.note && list.length === PAGES) allArrived.resolve();
    });
  }

  const toEvery: number[] = [];
  const toEach: number[] = [];
  const putOnly: number[] = [];
  const started = performance.now();
  for (let change = 0; change < CHANGES; change += 1) {
    const note = `change ${change}`;
    const everywhere = new Promise<void>((resolve) => (allArrived = { note, resolve }));
    const sent = performance.now();
    const response = await server.request(`/api/v1/outputs/${baseName}/triage`, { method: 'PUT', token: maintainer, json: { note, status: change % 2 === 0 ? 'investigating' : 'known-cause' } });
    if (!response.ok) throw new Error(await response.text());
    putOnly.push(performance.now() - sent);
    // The server runs in this process: waiting must not spin, or it would slow the very thing measured.
    await everywhere;
    const times = arrivals.get(note)!.map((at) => at - sent);
    toEach.push(...times);
    toEvery.push(Math.max(...times));
  }
  const elapsed = performance.now() - started;
  for (const list of [toEvery, toEach, putOnly]) list.sort((a, b) => a - b);
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(`triage PUT → event at all ${PAGES} open pages, ${CHANGES} changes: p50 ${ms(percentile(toEvery, 50))}, p95 ${ms(percentile(toEvery, 95))}, max ${ms(toEvery.at(-1)!)}`);
  console.log(`  per page (${toEach.length} arrivals): p50 ${ms(percentile(toEach, 50))}, p95 ${ms(percentile(toEach, 95))}`);
  console.log(`  the PUT's own answer: p50 ${ms(percentile(putOnly, 50))}, p95 ${ms(percentile(putOnly, 95))}`);
  console.log(`  ${(CHANGES / (elapsed / 1000)).toFixed(0)} changes/s, one after another`);
} finally {
  for (const socket of sockets) socket.close();
  await server.close();
}
