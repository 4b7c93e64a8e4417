import { randomBytes } from 'node:crypto';
import { encodeNixBase32, type JobRequest } from '@lilac/common';
import { io, type Socket } from 'socket.io-client';
import { loadConfig, type PoolConfig } from '../../src/config.ts';

/** Pool settings for tests: short leases and intervals so lapses happen within a test. */
export function testPoolConfig(overrides: Partial<PoolConfig> = {}): PoolConfig {
  return { ...loadConfig({}).pool, sweepIntervalMs: 50, statsIntervalMs: 50, retryBaseMs: 0, ...overrides };
}

/** A made-up output of a made-up derivation, named as Nix names them. */
export function fakeJob(name = 'hello-2.12'): JobRequest {
  const digest = () => encodeNixBase32(new Uint8Array(randomBytes(20)));
  return { drvPath: `/nix/store/${digest()}-${name}.drv`, output: 'out', outPath: `/nix/store/${digest()}-${name}` };
}

/**
 * A `/rebuilders` connection, resolved once the handshake is accepted;
 * `announce`: the systems and features the worker says it can build (none: it is offered any job).
 */
export async function connectRebuilder(url: string, token: string, announce: { systems?: unknown; features?: unknown } = {}): Promise<Socket> {
  const socket = io(`${url}/rebuilders`, { auth: { token, ...announce }, transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}
