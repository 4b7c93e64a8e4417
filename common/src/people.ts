/**
 * People (members) and what they write about divergences: roles, sessions,
 * triage records, comments and who is looking at a page. Server, web app and
 * tests import these; none redefines them.
 */
import { CAUSE_KINDS } from './listings.ts';

/** Each role may do what the ones before it may: viewers read and comment, maintainers triage and manage link patterns, admins manage people. */
export const MEMBER_ROLES = ['viewer', 'maintainer', 'admin'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** Member names appear in URLs, feeds and comments; keep them plain, as builders' are. */
export const MEMBER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Shortest password a member may set; tokens stay the stronger credential. */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

export function roleAtLeast(role: MemberRole, needed: MemberRole): boolean {
  return MEMBER_ROLES.indexOf(role) >= MEMBER_ROLES.indexOf(needed);
}

/** `GET /api/v1/me` and `POST /api/v1/session`. */
export interface MeView {
  name: string;
  role: MemberRole;
  hasPassword: boolean;
  /**
   * Sent back as the `X-CSRF-Token` header on every state-changing request made
   * with the session cookie; null when signed in with a bearer token, which needs none.
   */
  csrfToken: string | null;
}

/** `POST /api/v1/session` body: a member token, or a name and the password that member set. */
export type SignInRequest = { token: string } | { name: string; password: string };

export const CSRF_HEADER = 'x-csrf-token';

export const TRIAGE_STATUSES = ['new', 'investigating', 'known-cause', 'fixed', 'wont-fix'] as const;
export type TriageStatus = (typeof TRIAGE_STATUSES)[number];

/**
 * Why an output does not reproduce, as people triage it: the vocabulary of
 * the automatic cause guesses (CAUSE_KINDS), so the two can be compared and
 * filtered alike, and `other` for what no guess names.
 */
export const CAUSE_TAGS = [...CAUSE_KINDS, 'other'] as const;
export type CauseTag = (typeof CAUSE_TAGS)[number];

export const MAX_TRIAGE_NOTE_LENGTH = 2000;
export const MAX_TRIAGE_LINKS = 10;
export const MAX_LINK_LENGTH = 2000;
export const MAX_COMMENT_LENGTH = 10_000;

/** `PUT /api/v1/outputs/{digest-name}/triage`: the fields to change; those left out stay as they are. */
export interface TriageUpdate {
  status?: TriageStatus;
  /** A member's name, or null for nobody. */
  assignee?: string | null;
  causes?: CauseTag[];
  links?: string[];
  note?: string;
}

export interface TriageView {
  outPath: string;
  status: TriageStatus;
  assignee: string | null;
  causes: CauseTag[];
  links: string[];
  note: string;
  /** Marked `fixed`, then a new divergent hash arrived: the server reopened it. */
  reopened: boolean;
  /** When it was last marked `fixed`; null when it never was or was reopened since. */
  fixedAt: string | null;
  /** Marked `fixed`, and the builds attested since agree: at least two builders, one hash. */
  fixConfirmed: boolean;
  updatedAt: string;
  /** A member's name, or `lilac` for the server's own reopening. */
  updatedBy: string;
}

/** One field's change in a triage record's history. */
export interface TriageFieldChange {
  field: 'status' | 'assignee' | 'causes' | 'links' | 'note' | 'reopened';
  from: unknown;
  to: unknown;
}

export interface TriageHistoryEntry {
  at: string;
  by: string;
  changes: TriageFieldChange[];
}

export interface CommentView {
  id: string;
  outPath: string;
  author: string;
  /** The Markdown as written. */
  body: string;
  /** The Markdown rendered by the server with raw HTML disabled; the only HTML a page may insert as HTML. */
  html: string;
  createdAt: string;
  editedAt: string | null;
}

/** What `GET /api/v1/outputs/{digest-name}` adds for people. */
export interface OutputCollaboration {
  /** Null for an output nobody has triaged yet. */
  triage: TriageView | null;
  history: TriageHistoryEntry[];
  comments: CommentView[];
}

/** A page people can be looking at: `report:<name>` or `output:<digest-name>`. */
export type PresencePage = `report:${string}` | `output:${string}`;

export function isPresencePage(value: unknown): value is PresencePage {
  return typeof value === 'string' && value.length <= 300 && /^(report|output):[^\s]+$/.test(value);
}

export interface PresenceView {
  page: PresencePage;
  /** Signed-in members looking now, by name, each once. */
  members: string[];
  /** Connections without a signed-in member. */
  anonymous: number;
}

/** `GET /api/v1/triage/untriaged`: divergences without a triage record, or still `new`. */
export interface UntriagedItem {
  outPath: string;
  lastChanged: string;
}

/** What a `/monitor` client may send: it says which page it shows, so others see who is looking. */
export interface MonitorClientEvents {
  'presence:join': (page: PresencePage) => void;
  'presence:leave': (page: PresencePage) => void;
}

/** Sent to everyone in a page's room when someone arrives or leaves, and to a client that joins. */
export interface MonitorPresenceEvents {
  presence: PresenceView;
}
