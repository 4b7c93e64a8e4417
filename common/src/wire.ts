/**
 * Shapes that cross a process boundary: HTTP bodies, Socket.IO payloads.
 * Server, hook and web app all import these; none redefines them.
 */
import type { CommentView, OutputCollaboration, TriageHistoryEntry, TriageView } from './people.ts';

import type { OutputDiffEvent } from './listings.ts';

/** lila's attestation body item, plus the optional fields lilac's hook adds so the signature can be checked. */
export interface AttestationSubmission {
  /** 32-character digest of the output path. */
  output_digest: string;
  /** Name part of the output path (after `<digest>-`). */
  output_name: string;
  /** NAR hash, `sha256:<nix-base32>` or SRI `sha256-<base64>`. */
  output_hash: string;
  /** `<key name>:<base64 ed25519 signature>` over the narinfo fingerprint; lila's diff hook sends `""` (unsigned). */
  output_sig: string;
  nar_size?: number;
  /** Full store paths the output refers to. */
  references?: string[];
  /** How the builder came by the hash; lila's hook does not say (`api`). */
  source?: AttestationSource;
  /** When the build finished (ISO 8601); a spooled submission keeps it, so delivery time never stands in for build time. */
  built_at?: string;
}

export const VERDICTS = ['no-builds', 'one-build', 'reproduced', 'partially-reproduced', 'nondeterministic'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const VERDICT_LABELS: Record<Verdict, string> = {
  'no-builds': 'no builds',
  'one-build': 'one build',
  reproduced: 'reproduced',
  'partially-reproduced': 'partially reproduced',
  nondeterministic: 'nondeterministic',
};

/**
 * `unsigned`: no signature was sent (lila's diff hook sends `""`); `invalid`: one was sent and
 * does not verify with the builder's keys. Neither counts toward a verdict.
 */
export type SignatureStatus = 'valid' | 'invalid' | 'unsigned';

export const SIGNATURE_STATUS_LABELS: Record<SignatureStatus, string> = {
  valid: 'valid signature',
  invalid: 'invalid signature',
  unsigned: 'unsigned',
};

/** Where an attestation came from. */
export type AttestationSource = 'post-build-hook' | 'diff-hook' | 'rebuild' | 'cache-import' | 'api';

export interface AttestationView {
  output_path: string;
  output_digest: string;
  output_name: string;
  /** As submitted, normalised to `sha256:<nix-base32>`. */
  output_hash: string;
  output_sig: string;
  drv_path: string | null;
  builder: string;
  signature: { status: SignatureStatus; reason: string | null; key: string | null };
  source: AttestationSource;
  nar_size: number | null;
  references: string[] | null;
  /** When the builder says the build finished; null when it did not say. */
  built_at: string | null;
  created_at: string;
}

/** One distinct NAR hash of an output and the builders behind it. */
export interface HashGroup {
  narHash: string;
  /** Builders whose valid signature backs this hash. */
  verifiedBuilders: string[];
  /** Builders that reported it without a verifiable signature; shown, never counted. */
  unverifiedBuilders: string[];
}

export interface OutputSummaryView {
  outPath: string;
  drvPath: string | null;
  verdict: Verdict;
  hashes: HashGroup[];
  updatedAt: string;
}

export interface DivergenceView {
  outPath: string;
  drvPath: string | null;
  hashes: HashGroup[];
  firstSeen: string;
  lastChanged: string;
}

/** One output to rebuild, as `POST /api/v1/jobs` takes it. */
export interface JobRequest {
  drvPath: string;
  /** Output name in the derivation (`out`, `dev`, …). */
  output: string;
  outPath: string;
  /** The Nix system the output is built for (`x86_64-linux`); null or absent: any worker may build it. */
  system?: string | null;
  /** Features a worker must have (the derivation's `requiredSystemFeatures`). */
  requiredSystemFeatures?: string[];
  /** Higher is claimed first (default 0); a job enqueued again takes the new priority. */
  priority?: number;
}

/** What a rebuilder's `claim` acknowledgement receives (or `null` when nothing is claimable). */
export interface JobView extends JobRequest {
  id: string;
  leaseExpiresAt: string | null;
}

/** `cancelled`: a maintainer cancelled it, or its worker stopped the build; it is not retried, nor offered again until enqueued again. */
export type JobState = 'queued' | 'claimed' | 'done' | 'failed' | 'cancelled';

/**
 * How one rebuild attempt of a job ended, decided once by the server and carried by
 * `job:done`, `job:failed`, `PoolJobView` and the worker's acknowledgement.
 * A rebuild that built either matches the others (`reproduced`), does not
 * (`differs`: BAD), or has nobody to compare with yet (`unmatched`); one that did
 * not build `failed` (FAIL), ran past the worker's limit (`timed-out`) or was
 * stopped by a cancel (`cancelled`). Only a rebuild that built says anything
 * about the output: the other three never touch a verdict or a divergence.
 */
export type RebuildOutcome =
  /** Every other builder with a valid signature got the rebuilt NAR hash. */
  | { kind: 'reproduced'; narHash: string }
  /** Some other builder with a valid signature got another NAR hash. */
  | { kind: 'differs'; narHash: string; others: string[] }
  /** No other builder's valid attestation to compare with yet. */
  | { kind: 'unmatched'; narHash: string }
  /** The rebuild could not build; `log` is the tail of the build log. */
  | { kind: 'failed'; log: string }
  /** The worker stopped the build at its `--max-build-seconds`; `log` is the tail of the build log. */
  | { kind: 'timed-out'; log: string }
  /** Stopped before it ended: by a maintainer (`by`), or by its worker; `log` is what the worker saw, maybe empty. */
  | { kind: 'cancelled'; log: string; by?: string };

export const REBUILD_OUTCOME_KINDS = ['reproduced', 'differs', 'unmatched', 'failed', 'timed-out', 'cancelled'] as const satisfies readonly RebuildOutcome['kind'][];
export type RebuildOutcomeKind = (typeof REBUILD_OUTCOME_KINDS)[number];

/** The endings of a rebuild that did not build, as a worker reports them in `fail`. */
export const UNBUILT_OUTCOME_KINDS = ['failed', 'timed-out', 'cancelled'] as const satisfies readonly RebuildOutcomeKind[];
export type UnbuiltOutcomeKind = (typeof UNBUILT_OUTCOME_KINDS)[number];

export function isUnbuiltOutcome(kind: RebuildOutcomeKind): kind is UnbuiltOutcomeKind {
  return (UNBUILT_OUTCOME_KINDS as readonly RebuildOutcomeKind[]).includes(kind);
}

/** The endings the pool retries with another builder (up to its attempt limit): a build that broke or hung may work elsewhere. */
export const RETRIED_OUTCOME_KINDS = ['failed', 'timed-out'] as const satisfies readonly UnbuiltOutcomeKind[];

export function isRetriedOutcome(kind: RebuildOutcomeKind): boolean {
  return (RETRIED_OUTCOME_KINDS as readonly RebuildOutcomeKind[]).includes(kind);
}

/** Short names, as reproduce.debian.net shows them: GOOD, BAD and FAIL are never confused. */
export const REBUILD_OUTCOME_LABELS: Record<RebuildOutcomeKind, string> = {
  reproduced: 'GOOD',
  differs: 'BAD',
  unmatched: 'BUILT',
  failed: 'FAIL',
  'timed-out': 'TIMEOUT',
  cancelled: 'CANCELLED',
};

/** The one wording of an outcome, shared by the worker's log, the pool card and the live feed. */
export function describeRebuildOutcome(outcome: RebuildOutcome): string {
  switch (outcome.kind) {
    case 'reproduced':
      return 'reproduced';
    case 'differs':
      return `differs (hash ${outcome.narHash} vs ${outcome.others.join(', ')})`;
    case 'unmatched':
      return 'rebuilt, nothing to compare with yet';
    case 'failed':
      return 'failed to build';
    case 'timed-out':
      return 'timed out';
    case 'cancelled':
      return outcome.by === undefined ? 'cancelled' : `cancelled by ${outcome.by}`;
  }
}

/** One builder's finished go at a job, as `PoolJobView.history` and `OutputDetail.rebuilds` list it. */
export interface AttemptView {
  builder: string;
  outcome: RebuildOutcome;
  /** When the builder claimed it; null for attempts recorded before lilac kept it. */
  startedAt: string | null;
  finishedAt: string;
  /** From claim to report; null when the start is not known. */
  durationMs: number | null;
}

/** `GET /api/v1/reports/{name}/rebuilds`: how the pool's last rebuild of each of a report's outputs ended. */
export interface ReportRebuilds {
  /** Outputs of the report by the ending of their last rebuild; outputs never rebuilt are not counted. */
  counts: Record<RebuildOutcomeKind, number>;
  /** The outputs whose last rebuild did not reproduce them (BAD, FAIL, timed out, cancelled), up to a bound. */
  notReproduced: { outPath: string; outcome: RebuildOutcome }[];
}

/** A job as the monitor lists it (`GET /api/v1/pool`). */
export interface PoolJobView extends JobView {
  state: JobState;
  /** The builder holding the claim; null unless claimed. */
  builder: string | null;
  /** When it entered its current state. */
  since: string;
  /** The last failure's message (a build log tail). */
  error: string | null;
  attempts: number;
  /** Higher is claimed first. */
  priority: number;
  /** Independent builders with valid signatures behind the output so far. */
  verifiedBuilders: number;
  /** How the last rebuild of it ended; null before the first. */
  outcome: RebuildOutcome | null;
  /** Every finished attempt, oldest first. */
  history: AttemptView[];
  system: string | null;
  requiredSystemFeatures: string[];
  /** Queued, and no worker connected to this server can build it (its system or features): it waits for a capable worker. */
  waitingForCapableWorker: boolean;
}

/** A connected rebuilder connection and the jobs it holds. */
export interface PoolWorkerView {
  builder: string;
  socketId: string;
  /** What it announced; null: nothing, so it is offered any job (or it is connected to another server). */
  systems: string[] | null;
  features: string[];
  jobs: string[];
}

export interface PoolView {
  stats: PoolStats;
  jobs: PoolJobView[];
  workers: PoolWorkerView[];
}

/** `POST /api/v1/jobs` and `POST /api/v1/reports/{name}/enqueue` answer. */
export interface EnqueueResult {
  /** Jobs new to the pool. */
  added: number;
  /** Jobs that were done, failed or cancelled and went back to the queue. */
  requeued: number;
  /** Already queued or claimed, left as they were. */
  unchanged: number;
  /** Outputs that already have enough independent builders. */
  satisfied: number;
  /** Enqueueing a report only: components the pool was not asked to rebuild, by reason. */
  skipped?: EnqueueSkip[];
}

export interface EnqueueSkip {
  count: number;
  /** For people, count included: "8 components lack nix:drv_path". */
  reason: string;
}

/** `/rebuilders` messages a worker sends; acknowledgements carry `{ error }` on bad input. */
export interface RebuilderErrorAck {
  error: string;
}
export type ClaimAck = JobView | null | RebuilderErrorAck;
export interface HeartbeatAck {
  /** Ids of the jobs this connection still holds, leases extended. */
  jobs: string[];
  leaseExpiresAt: string;
}
export interface FailPayload {
  id: string;
  /** What went wrong, e.g. the tail of the build log. */
  error: string;
  /** How the build ended; absent: `failed` (what workers before it sent). */
  kind?: UnbuiltOutcomeKind;
}
export interface JobOutcomeAck {
  state: JobState;
  outcome: RebuildOutcome;
  /**
   * `complete` only: the outputs of the completion whose copy's file listing
   * the server wants (the output has more than one NAR hash and none of this
   * one is listed): the worker uploads the listing of the copy it attested.
   */
  listingWanted?: string[];
}
/**
 * `outlook`'s acknowledgement: the jobs this builder may take, by where they
 * are. A worker run with `--until-empty` stops only once nothing it may take
 * is queued or held by a lease that ran out.
 */
export interface PoolOutlook {
  /** Queued and past their retry backoff. */
  claimable: number;
  /** Queued, waiting out a retry backoff. */
  backingOff: number;
  /** Held by another connection whose lease still runs. */
  held: number;
  /** Held by a lease that ran out: back in the queue at the next sweep. */
  lapsed: number;
}

export interface ErrorBody {
  detail: string;
}

export interface VerdictChange {
  outPath: string;
  drvPath: string | null;
  verdict: Verdict;
  previous: Verdict;
}

export interface PoolStats {
  queued: number;
  claimed: number;
  done: number;
  failed: number;
  cancelled: number;
}

/** `PATCH /api/v1/jobs/{id}` body. */
export interface JobChange {
  priority: number;
}

/** What `/rebuilders` sends the worker holding a job a maintainer cancelled; the worker stops its build. */
export interface CancelNotice {
  id: string;
  /** The member who cancelled it. */
  by: string;
}

/** `GET /api/v1/builders`: one builder as the monitor lists it. */
export interface BuilderView {
  name: string;
  /** Registered public keys, `name:base64` as Nix prints them. */
  keys: string[];
  lastSeenAt: string | null;
  /** Attestations stored from this builder, verified or not. */
  attestations: number;
  /** Holds a live rebuilder connection right now. */
  online: boolean;
}

/** An attestation as `/monitor` carries it: a builder may send 10,000 references, so only their number goes to every viewer. */
export type MonitorAttestation = Omit<AttestationView, 'references'> & {
  /** How many references the builder sent; null when it did not say. */
  reference_count: number | null;
};

/**
 * What `/monitor` carries, by event name: the bus's events, except the two
 * published for every attestation stored (thousands a second under ingest),
 * which go gathered: `attestations` (without their references) and
 * `verdicts`, each a list of what was published since the last one, in order.
 */
export type MonitorWireEvents = Omit<MonitorEvents, 'attestation' | 'verdict'> & { attestations: MonitorAttestation[]; verdicts: VerdictChange[] };

/** Everything published on a server's event bus, by event name; `/monitor` relays it as `MonitorWireEvents`. */
export interface MonitorEvents {
  attestation: AttestationView;
  divergence: DivergenceView;
  verdict: VerdictChange;
  'report:progress': { report: string; total: number; counts: Record<Verdict, number> };
  'builder:online': { builder: string };
  'builder:offline': { builder: string };
  'job:claimed': { job: JobView; builder: string };
  'job:done': { job: JobView; builder: string; outcome: RebuildOutcome };
  'job:failed': { job: JobView; builder: string; error: string; final: boolean; outcome: RebuildOutcome };
  /** `holder`: the worker connection that held it, told to stop (null: it was queued). */
  'job:cancelled': { job: JobView; by: string; holder: { builder: string; socketId: string } | null };
  'job:priority': { job: JobView; priority: number; by: string };
  'pool:stats': PoolStats;
  'output:diff': OutputDiffEvent;
  /** A triage record changed (by a maintainer, or reopened by lilac); `triage.fixConfirmed` is not worked out here. */
  triage: { outPath: string; triage: TriageView; change: TriageHistoryEntry };
  /** A comment was written or edited. */
  comment: { outPath: string; comment: CommentView };
  'comment:deleted': { outPath: string; id: string };
}

/** One item of `POST /api/v1/attestations`: many outputs of many derivations in one request. */
export interface BatchAttestation {
  drvPath: string;
  /** Output name in the derivation (`out`, `dev`, …). */
  output?: string;
  outPath: string;
  narHash: string;
  narSize?: number;
  /** Full store paths. */
  references?: string[];
  /** `<key name>:<base64>`; empty or absent: stored as unsigned. */
  signature?: string;
  source?: AttestationSource;
  /** When the build finished (ISO 8601). */
  builtAt?: string;
}

export interface AttestationResult {
  outPath: string;
  /** The output's verdict after this submission. */
  verdict: Verdict;
  /** Status of the stored attestation (an earlier valid one stays valid). */
  signature: { status: SignatureStatus; reason: string | null };
  /**
   * The output has more than one NAR hash and the server has no file listing
   * of this one: the builder should upload its copy's listing
   * (`PUT /api/v1/outputs/{digest-name}/listing`).
   */
  listingWanted?: boolean;
}

export interface ReportSummary {
  name: string;
  /** The builder that defined the report and alone may replace it; null for reports made before lilac kept owners. */
  owner: string | null;
  /** Distinct output paths in the report. */
  total: number;
  counts: Record<Verdict, number>;
  updatedAt: string;
}

export interface ReportPath {
  outPath: string;
  drvPath: string | null;
  name: string;
  verdict: Verdict;
}

/** Not-reproduced paths whose package name matches one link pattern (`pattern: null`: none matched). */
export interface ReportPathGroup {
  pattern: string | null;
  link: string | null;
  paths: ReportPath[];
}

/** One component of a report; `outPath` and `verdict` are null for components that are not store paths. */
export interface ReportTreeNode {
  id: number;
  outPath: string | null;
  name: string;
  verdict: Verdict | null;
  children: number[];
}

export interface ReportDetail {
  name: string;
  root: number;
  total: number;
  counts: Record<Verdict, number>;
  /** Of `total`, 0–100. */
  percentages: Record<Verdict, number>;
  /** Paths whose builders disagree (partially reproduced or nondeterministic). */
  notReproduced: ReportPathGroup[];
  /** Flat node list with child ids: shared subtrees and cycles appear once. */
  tree: { nodes: ReportTreeNode[]; roots: number[] };
  /** The attribute the closure was built from (the root's `nix:attr_path`), when the SBOM says. */
  attrPath: string | null;
}

/**
 * A report's counts per verdict at one moment: `upload` when a version was
 * uploaded, `snapshot` the last figures of a version on a day.
 */
export interface ReportHistoryPoint {
  at: string;
  version: string;
  kind: 'upload' | 'snapshot';
  total: number;
  counts: Record<Verdict, number>;
}

/** One upload of a report, kept after its SBOM is replaced. */
export interface ReportVersionView {
  version: string;
  uploadedAt: string;
  /** When the next upload replaced it; null for the current version. */
  replacedAt: string | null;
  total: number;
  attrPath: string | null;
  /** The counts when it was uploaded; null for versions uploaded before lilac kept history. */
  countsAtUpload: Record<Verdict, number> | null;
  /** The last counts recorded for it, and when. */
  latestCounts: Record<Verdict, number> | null;
  countedAt: string | null;
}

/** `GET /api/v1/reports/{name}/history`: points oldest first, versions newest first. */
export interface ReportHistory {
  name: string;
  points: ReportHistoryPoint[];
  versions: ReportVersionView[];
}

export type OutputDetail = OutputSummaryView & {
  attestations: AttestationView[];
  /** The rebuild pool's attempts at this output, oldest first; empty when it was never enqueued. */
  rebuilds: AttemptView[];
} & OutputCollaboration;

export interface DerivationDetail {
  drvPath: string;
  outputs: OutputSummaryView[];
}

export interface Stats {
  counts: Record<Verdict, number>;
  attestations: number;
  builders: number;
  outputs: number;
  /** Null for live counts; else when the totals shown were stored, while the server counts the store after a start. */
  countedAt: string | null;
}

export interface LinkPatternView {
  pattern: string;
  link: string;
  /** The builder that defined the pattern and alone may change it; null for patterns made before lilac kept owners. */
  owner: string | null;
}

/** lila's `/reports/{name}/suggest` item. */
export interface Suggestion {
  drv_path: string;
  output: string;
  out_path: string;
}
