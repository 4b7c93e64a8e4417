import type { PresencePage, PresenceView } from '@lilac/common';

/** One connection shows a few pages at most (a page, and one it is moving to): more is a client misbehaving. */
export const MAX_PAGES_PER_CONNECTION = 4;

/**
 * Who looks at which page right now, per connection: a member's name, or
 * null for an anonymous viewer. In memory, per server process: behind several
 * processes each counts its own connections.
 */
export class PagePresence {
  private readonly pages = new Map<PresencePage, Map<string, string | null>>();
  private readonly byConnection = new Map<string, Set<PresencePage>>();

  /** False when the connection already shows as many pages as it may. */
  join(page: PresencePage, connection: string, member: string | null): boolean {
    const shown = this.byConnection.get(connection) ?? new Set<PresencePage>();
    if (!shown.has(page) && shown.size >= MAX_PAGES_PER_CONNECTION) return false;
    shown.add(page);
    this.byConnection.set(connection, shown);
    const viewers = this.pages.get(page) ?? new Map<string, string | null>();
    viewers.set(connection, member);
    this.pages.set(page, viewers);
    return true;
  }

  leave(page: PresencePage, connection: string): boolean {
    const viewers = this.pages.get(page);
    if (!viewers?.delete(connection)) return false;
    if (viewers.size === 0) this.pages.delete(page);
    this.byConnection.get(connection)?.delete(page);
    return true;
  }

  /** The pages the connection was on, which now have one viewer fewer. */
  disconnect(connection: string): PresencePage[] {
    const shown = [...(this.byConnection.get(connection) ?? [])];
    for (const page of shown) this.leave(page, connection);
    this.byConnection.delete(connection);
    return shown;
  }

  view(page: PresencePage): PresenceView {
    const viewers = [...(this.pages.get(page)?.values() ?? [])];
    const members = [...new Set(viewers.filter((name): name is string => name !== null))].sort();
    return { page, members, anonymous: viewers.filter((name) => name === null).length };
  }
}
