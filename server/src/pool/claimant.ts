/** Who asks for a job: what decides which jobs it may be offered, and the connection its lease names. */
export interface Claimant {
  readonly builder: string;
  readonly socketId: string;
}
