export interface ProgressCounts {
  imported: number;
  skipped: number;
  missing: number;
  failed: number;
}

/** A redrawn bar on a terminal; on a pipe or log file, a plain line every twentieth of the work. */
export class Progress {
  private readonly step: number;
  private lastDrawn = 0;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.step = Math.max(1, Math.floor(total / 20));
  }

  update(counts: ProgressCounts): void {
    const done = counts.imported + counts.skipped + counts.missing + counts.failed;
    const text = `${done}/${this.total} imported ${counts.imported}, already done ${counts.skipped}, missing ${counts.missing}, failed ${counts.failed}`;
    if (this.out.isTTY) {
      const now = Date.now();
      if (done !== this.total && now - this.lastDrawn < 100) return;
      this.lastDrawn = now;
      const width = 30;
      const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      if (done === this.total) this.out.write('\n');
    } else if (done % this.step === 0 || done === this.total) {
      this.out.write(`lilac: import-cache ${text}\n`);
    }
  }
}
