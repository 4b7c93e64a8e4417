import type { EventBus } from '../events/eventBus.ts';

/**
 * Which builders are connected right now (rebuild workers over Socket.IO).
 * A builder is online while it holds at least one connection; the bus hears
 * only the transitions.
 */
export class BuilderPresence {
  private readonly connections = new Map<string, Set<string>>();

  constructor(private readonly events: EventBus) {}

  connected(builder: string, connectionId: string): void {
    const ids = this.connections.get(builder) ?? new Set<string>();
    const wasOnline = ids.size > 0;
    ids.add(connectionId);
    this.connections.set(builder, ids);
    if (!wasOnline) this.events.publish('builder:online', { builder });
  }

  disconnected(builder: string, connectionId: string): void {
    const ids = this.connections.get(builder);
    if (!ids?.delete(connectionId)) return;
    if (ids.size === 0) {
      this.connections.delete(builder);
      this.events.publish('builder:offline', { builder });
    }
  }

  isOnline(builder: string): boolean {
    return this.connections.has(builder);
  }

  online(): string[] {
    return [...this.connections.keys()].sort();
  }
}
