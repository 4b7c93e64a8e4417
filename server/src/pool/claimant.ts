import type { WorkerCapabilities } from '@lilac/common';

/** Who asks for a job: what decides which jobs it may be offered, and the connection its lease names. */
export interface Claimant {
  readonly builder: string;
  readonly socketId: string;
  /** The systems and features its worker announced; null: it announced none and is offered any job. */
  readonly capabilities: WorkerCapabilities | null;
}
