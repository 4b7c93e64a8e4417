import { CAUSE_TAGS, MAX_LINK_LENGTH, MAX_TRIAGE_LINKS, MAX_TRIAGE_NOTE_LENGTH, TRIAGE_STATUSES, type CauseTag, type TriageStatus, type TriageUpdate } from '@lilac/common';

export class InvalidTriageError extends Error {
  override name = 'InvalidTriageError';
}

const FIELDS = new Set(['status', 'assignee', 'causes', 'links', 'note']);

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A triage change as a person sent it, checked whole before anything is written. */
export function parseTriageUpdate(body: unknown): TriageUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidTriageError('send a JSON object with any of status, assignee, causes, links, note');
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) throw new InvalidTriageError(`unknown field ${unknown.join(', ')}: triage has status, assignee, causes, links, note`);
  const update: TriageUpdate = {};
  if ('status' in input) {
    if (!(TRIAGE_STATUSES as readonly unknown[]).includes(input.status)) throw new InvalidTriageError(`status must be one of ${TRIAGE_STATUSES.join(', ')}`);
    update.status = input.status as TriageStatus;
  }
  if ('assignee' in input) {
    if (input.assignee !== null && typeof input.assignee !== 'string') throw new InvalidTriageError('assignee must be a member name or null');
    update.assignee = input.assignee === '' ? null : input.assignee;
  }
  if ('causes' in input) {
    const causes = input.causes;
    if (!Array.isArray(causes) || !causes.every((cause) => (CAUSE_TAGS as readonly unknown[]).includes(cause))) {
      throw new InvalidTriageError(`causes must be a list of ${CAUSE_TAGS.join(', ')}`);
    }
    update.causes = [...new Set(causes as CauseTag[])];
  }
  if ('links' in input) {
    const links = input.links;
    if (!Array.isArray(links) || !links.every((link) => typeof link === 'string')) throw new InvalidTriageError('links must be a list of URLs');
    if (links.length > MAX_TRIAGE_LINKS) throw new InvalidTriageError(`at most ${MAX_TRIAGE_LINKS} links`);
    for (const link of links as string[]) {
      if (link.length > MAX_LINK_LENGTH) throw new InvalidTriageError(`a link is longer than ${MAX_LINK_LENGTH} characters`);
      if (!isHttpUrl(link)) throw new InvalidTriageError(`links must be http(s) URLs: ${JSON.stringify(link.slice(0, 100))} is not`);
    }
    update.links = [...new Set(links as string[])];
  }
  if ('note' in input) {
    if (typeof input.note !== 'string') throw new InvalidTriageError('note must be text');
    if (input.note.length > MAX_TRIAGE_NOTE_LENGTH) throw new InvalidTriageError(`note is longer than ${MAX_TRIAGE_NOTE_LENGTH} characters`);
    update.note = input.note;
  }
  return update;
}
