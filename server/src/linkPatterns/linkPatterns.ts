import { MAX_LINK_LENGTH, type LinkPatternView } from '@lilac/common';
import { RE2JS } from 're2js';
import { assertBuilderExists, MissingRecordError, notOwner, shellQuoted } from '../ownership/ownership.ts';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import { withUpsertRetry } from '../store/upsert.ts';
import type { Models } from '../store/models.ts';

export const MAX_PATTERN_LENGTH = 200;

export class InvalidLinkPatternError extends Error {
  override name = 'InvalidLinkPatternError';
}

/**
 * As lila (Python's `re.match`): a pattern matches a package name from its start.
 * RE2 semantics: matching takes time linear in the name whatever the pattern, so
 * a builder's pattern cannot stall the server (a backtracking engine spends
 * hours on `a*a*a*a*a*a*a*a*b` against 200 `a`s).
 */
export function compileLinkPattern(pattern: string): { test(name: string): boolean } {
  const compiled = RE2JS.compile(pattern);
  return { test: (name) => compiled.matcher(name).lookingAt() };
}

/** Why `pattern` cannot be a link pattern, in RE2's words, or null. */
export function invalidPatternReason(pattern: string): string | null {
  if (pattern === '') return 'pattern is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    return `pattern is not a regular expression RE2 accepts: ${(error as Error).message}`;
  }
  return null;
}

export function invalidLinkReason(link: string): string | null {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return 'link is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'link must be an http(s) URL';
  if (link.length > MAX_LINK_LENGTH) return `link is longer than ${MAX_LINK_LENGTH} characters`;
  return null;
}

export async function listLinkPatterns(models: Models): Promise<LinkPatternView[]> {
  const records = await models.LinkPattern.find().sort({ createdAt: 1 }).lean();
  return records.map((record) => ({ pattern: record.pattern, link: record.link, owner: record.owner ?? null }));
}

function assertOwner(record: { owner?: string | null } | null, pattern: string, owner: string): void {
  if (record !== null && record.owner !== owner) throw notOwner(`link pattern ${JSON.stringify(pattern)}`, record.owner, `give-link-pattern ${shellQuoted(pattern)}`);
}

/**
 * Adds a pattern owned by `owner`, or changes the link of one `owner` owns;
 * refuses patterns RE2 cannot compile, non-http(s) links and others' patterns.
 */
export async function defineLinkPattern(models: Models, pattern: string, link: string, owner: string): Promise<LinkPatternView> {
  const reason = invalidPatternReason(pattern) ?? invalidLinkReason(link);
  if (reason !== null) throw new InvalidLinkPatternError(reason);
  // One retry: a concurrent first definition that won the insert is then updated, if it is `owner`'s.
  for (let attempt = 1; ; attempt++) {
    try {
      await models.LinkPattern.updateOne({ pattern, owner }, { $set: { link } }, { upsert: true });
      return { pattern, link, owner };
    } catch (error) {
      if (!isDuplicateKeyError(error) || attempt === 2) throw error;
      assertOwner(await models.LinkPattern.findOne({ pattern }, { owner: 1 }).lean(), pattern, owner);
    }
  }
}

/**
 * A maintainer's: adds a pattern or changes the link of any pattern, keeping
 * its owner (a new one has none: builders then leave it to maintainers and
 * operators).
 */
export async function maintainLinkPattern(models: Models, pattern: string, link: string): Promise<LinkPatternView> {
  const reason = invalidPatternReason(pattern) ?? invalidLinkReason(link);
  if (reason !== null) throw new InvalidLinkPatternError(reason);
  await withUpsertRetry(() => models.LinkPattern.updateOne({ pattern }, { $set: { link } }, { upsert: true }));
  const record = await models.LinkPattern.findOne({ pattern }, { owner: 1 }).lean();
  return { pattern, link, owner: record?.owner ?? null };
}

/** The admin CLI's: hands a pattern, ownerless or not, to a builder. */
export async function giveLinkPattern(models: Models, pattern: string, builder: string): Promise<void> {
  await assertBuilderExists(models, builder);
  const { matchedCount } = await models.LinkPattern.updateOne({ pattern }, { $set: { owner: builder } });
  if (matchedCount === 0) throw new MissingRecordError(`no link pattern ${JSON.stringify(pattern)}`);
}

/** The admin CLI's: removes a pattern whoever owns it. */
export async function removeLinkPattern(models: Models, pattern: string): Promise<void> {
  const { deletedCount } = await models.LinkPattern.deleteOne({ pattern });
  if (deletedCount === 0) throw new MissingRecordError(`no link pattern ${JSON.stringify(pattern)}`);
}
