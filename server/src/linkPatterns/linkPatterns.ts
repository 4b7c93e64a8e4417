import type { LinkPatternView } from '@lilac/common';
import { RE2JS } from 're2js';
import type { Models } from '../store/models.ts';

export const MAX_PATTERN_LENGTH = 200;
const MAX_LINK_LENGTH = 2000;

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
  return records.map((record) => ({ pattern: record.pattern, link: record.link }));
}

/** Adds a pattern, or changes the link of an existing one; refuses patterns RE2 cannot compile and non-http(s) links. */
export async function defineLinkPattern(models: Models, pattern: string, link: string): Promise<LinkPatternView> {
  const reason = invalidPatternReason(pattern) ?? invalidLinkReason(link);
  if (reason !== null) throw new InvalidLinkPatternError(reason);
  await models.LinkPattern.updateOne({ pattern }, { $set: { link }, $setOnInsert: { pattern } }, { upsert: true });
  return { pattern, link };
}
