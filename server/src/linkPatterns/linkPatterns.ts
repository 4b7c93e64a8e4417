import type { LinkPatternView } from '@lilac/common';
import { badRequest } from '../http/errors.ts';
import type { Models } from '../store/models.ts';
import { invalidLinkReason, unsafePatternReason } from './safePattern.ts';

/** As lila (Python's `re.match`): a pattern matches a package name from its start. */
export function compileLinkPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})`, 'u');
}

export async function listLinkPatterns(models: Models): Promise<LinkPatternView[]> {
  const records = await models.LinkPattern.find().sort({ createdAt: 1 }).lean();
  return records.map((record) => ({ pattern: record.pattern, link: record.link }));
}

/** Adds a pattern, or changes the link of an existing one; refuses unsafe patterns and non-http(s) links. */
export async function defineLinkPattern(models: Models, pattern: string, link: string): Promise<LinkPatternView> {
  const reason = unsafePatternReason(pattern) ?? invalidLinkReason(link);
  if (reason !== null) throw badRequest(reason);
  await models.LinkPattern.updateOne({ pattern }, { $set: { link }, $setOnInsert: { pattern } }, { upsert: true });
  return { pattern, link };
}
