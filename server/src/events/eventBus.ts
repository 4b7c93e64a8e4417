import { EventEmitter } from 'node:events';
import type { MonitorEvents } from '@lilac/common';

export type EventName = keyof MonitorEvents;
type Listener<K extends EventName> = (payload: MonitorEvents[K]) => void;

/**
 * The one place domain events are published. Ingest, the work pool and the
 * builder registry emit here; the `/monitor` namespace and metrics listen.
 * In-process only: each server process publishes what it itself observed.
 */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish<K extends EventName>(name: K, payload: MonitorEvents[K]): void {
    this.emitter.emit(name, payload);
  }

  subscribe<K extends EventName>(name: K, listener: Listener<K>): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
