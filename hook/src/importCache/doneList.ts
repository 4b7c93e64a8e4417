import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The out paths an import has finished, one per line, appended as each
 * finishes: an interrupted import resumes where it stopped.
 */
export class DoneList {
  private readonly done: Set<string>;

  constructor(readonly file: string) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.done = new Set(text.split('\n').filter((line) => line !== ''));
  }

  has(outPath: string): boolean {
    return this.done.has(outPath);
  }

  add(outPath: string): void {
    if (this.done.has(outPath)) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${outPath}\n`);
    this.done.add(outPath);
  }
}
