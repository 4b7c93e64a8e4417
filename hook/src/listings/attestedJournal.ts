import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_LISTING_QUESTIONS, normaliseNarHash, type AttestationResult, type AttestationSubmission, type ListingQuestion, type ListingWishes } from '@lilac/common';
import type { HookConfig } from '../config.ts';
import { detailOf, networkReason } from '../delivery/errorDetail.ts';
import { log } from '../log.ts';
import { trySaveFollowUp } from './followUps.ts';
import { submissionOutPath } from '../attest/submission.ts';

/**
 * The copies of outputs this machine attested and may still hold
 * (`<spool>/attested/`, one small file each, named by a digest of output
 * and hash): an output often diverges after its attestation was answered,
 * when another builder's hash arrives, and only then is its listing wanted.
 * The background sender asks the server about them (askForWantedListings).
 * Bounded: past MAX_JOURNAL the oldest are forgotten.
 */
const DIR = 'attested';
/** A few days of a busy builder's outputs; asking about them all costs two small requests per flush. */
export const MAX_JOURNAL = 1000;

function journalDir(spoolDir: string): string {
  return path.join(spoolDir, DIR);
}

function fileOf(dir: string, { outPath, narHash }: ListingQuestion): string {
  return path.join(dir, `${createHash('sha256').update(`${outPath}#${narHash}`).digest('hex').slice(0, 40)}.json`);
}

/**
 * Notes the delivered attestations of copies in this store, but those whose
 * listing the answer asked for already (`results`: a follow-up has them).
 * The diff hook's are left out: it attests `<out>.check`, a copy it uploads
 * itself and then removes, under the output's path. Never throws: it must
 * never stop a delivery.
 */
export function journalAttested(spoolDir: string, submissions: readonly AttestationSubmission[], results: readonly AttestationResult[] = []): void {
  const askedFor = new Set(results.filter((result) => result.listingWanted === true).map((result) => result.outPath));
  const copies = submissions.flatMap((submission) => {
    const outPath = submissionOutPath(submission);
    return submission.source === 'diff-hook' || askedFor.has(outPath) ? [] : [{ outPath, narHash: submission.output_hash }];
  });
  journalCopies(spoolDir, copies);
}

/** Notes copies in this store by output and the NAR hash they were attested with. Never throws. */
export function journalCopies(spoolDir: string, copies: readonly ListingQuestion[]): void {
  if (copies.length === 0) return;
  try {
    const dir = journalDir(spoolDir);
    mkdirSync(path.join(dir, 'tmp'), { recursive: true, mode: 0o700 });
    for (const copy of copies) {
      const question = { outPath: copy.outPath, narHash: normaliseNarHash(copy.narHash) };
      // Written whole under tmp/ and renamed in: a reader never sees half of one, and a repeat refreshes its age.
      const tmp = path.join(dir, 'tmp', `${process.pid}-${randomBytes(4).toString('hex')}`);
      writeFileSync(tmp, `${JSON.stringify(question)}\n`, { mode: 0o600 });
      renameSync(tmp, fileOf(dir, question));
    }
    prune(dir);
  } catch (error) {
    log(`cannot note attested copies for later listings: ${(error as Error).message}`);
  }
}

function entries(dir: string): { file: string; question: ListingQuestion }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const file = path.join(dir, name);
    try {
      const { outPath, narHash } = JSON.parse(readFileSync(file, 'utf8')) as ListingQuestion;
      return typeof outPath === 'string' && typeof narHash === 'string' ? [{ file, question: { outPath, narHash } }] : [];
    } catch {
      // Another sender forgot it meanwhile.
      return [];
    }
  });
}

function forget(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // another sender forgot it first
  }
}

/** Forgets the oldest notes past MAX_JOURNAL. */
function prune(dir: string): void {
  const names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  if (names.length <= MAX_JOURNAL) return;
  const aged = names.flatMap((name) => {
    try {
      return [{ file: path.join(dir, name), mtime: statSync(path.join(dir, name)).mtimeMs }];
    } catch {
      return [];
    }
  });
  aged.sort((a, b) => a.mtime - b.mtime);
  for (const { file } of aged.slice(0, aged.length - MAX_JOURNAL)) forget(file);
}

async function askServer(config: HookConfig, questions: readonly ListingQuestion[]): Promise<ListingWishes | string> {
  try {
    const response = await fetch(`${config.server}/api/v1/listings/wanted`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ outputs: questions }),
      signal: AbortSignal.timeout(Math.max(1, config.timeoutMs)),
    });
    const text = await response.text();
    if (!response.ok) return `${response.status} ${detailOf(text)}`;
    return JSON.parse(text) as ListingWishes;
  } catch (error) {
    return networkReason(error);
  }
}

/**
 * Asks the server which noted copies' listings are wanted now, in batches of
 * MAX_LISTING_QUESTIONS, and leaves a follow-up for each (runFollowUps
 * uploads it if the store's copy still has that NAR hash). A note is
 * forgotten once handed on, once the server has that listing or says this
 * builder never attested it, or once its output left the store; the others
 * wait for a second hash. Never throws.
 */
export async function askForWantedListings(config: HookConfig): Promise<void> {
  if (config.server === null || config.token === null) return;
  const dir = journalDir(config.spoolDir);
  const noted = entries(dir).filter(({ file, question }) => {
    if (existsSync(question.outPath)) return true;
    forget(file);
    return false;
  });
  for (let start = 0; start < noted.length; start += MAX_LISTING_QUESTIONS) {
    const batch = noted.slice(start, start + MAX_LISTING_QUESTIONS);
    const answer = await askServer(config, batch.map(({ question }) => question));
    if (typeof answer === 'string') {
      log(`could not ask which listings are wanted: ${answer}`);
      return;
    }
    const files = new Map(batch.map(({ file, question }) => [`${question.outPath}#${question.narHash}`, file]));
    for (const { outPath, narHash, wish } of answer.outputs) {
      const file = files.get(`${outPath}#${narHash}`);
      if (file === undefined || wish === 'single-hash') continue;
      if (wish === 'wanted') {
        if (!trySaveFollowUp(config.spoolDir, { outPath, copies: [{ path: outPath, narHash }], diffoscope: false })) continue;
      }
      forget(file);
    }
  }
}
