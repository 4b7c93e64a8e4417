import type { TriageFieldChange } from '@lilac/common';
import type { Models } from '../store/models.ts';
import type { FeedEntry } from './atomFeed.ts';

/** Entries beyond these are old news a reader has long seen. */
export const MAX_FEED_ENTRIES = 100;
/** Outputs one feed looks at: a report's not-reproduced list, a member's watch list. */
export const MAX_FEED_OUTPUTS = 5000;

function baseName(outPath: string): string {
  return outPath.slice('/nix/store/'.length);
}

function describe(change: TriageFieldChange): string {
  const value = (v: unknown) => (Array.isArray(v) ? (v.length === 0 ? 'none' : v.join(', ')) : v === null || v === '' ? 'none' : String(v));
  return `${change.field}: ${value(change.from)} → ${value(change.to)}`;
}

/** Divergences (first seen, new hash) and triage changes of the outputs, newest first. */
export async function feedEntries(models: Models, outPaths: readonly string[], origin: string): Promise<FeedEntry[]> {
  const paths = [...new Set(outPaths)].slice(0, MAX_FEED_OUTPUTS);
  if (paths.length === 0) return [];
  const [divergences, triage] = await Promise.all([
    models.Divergence.find({ outPath: { $in: paths } }, { outPath: 1, lastChanged: 1, firstSeen: 1, hashes: 1 }).lean(),
    models.Triage.find({ outPath: { $in: paths } }, { outPath: 1, history: 1 }).lean(),
  ]);
  const entries: FeedEntry[] = [];
  for (const divergence of divergences) {
    // As verdicts do: a hash nobody signed verifiably is not a divergence.
    const verified = divergence.hashes.filter((group) => group.verifiedBuilders.length > 0);
    if (verified.length < 2) continue;
    const link = `${origin}/output/${baseName(divergence.outPath)}`;
    entries.push({
      id: `${link}#diverged-${divergence.lastChanged.toISOString()}`,
      title: `${baseName(divergence.outPath)} diverged (${verified.length} hashes)`,
      updated: divergence.lastChanged,
      link,
      author: 'lilac',
      summary: verified.map((group) => `${group.narHash}: ${group.verifiedBuilders.join(', ')}`).join('\n'),
    });
  }
  for (const record of triage) {
    const link = `${origin}/output/${baseName(record.outPath)}`;
    for (const entry of record.history) {
      const changes = entry.changes.map((change) => ({ field: change.field, from: change.from ?? null, to: change.to ?? null }) as TriageFieldChange);
      entries.push({
        id: `${link}#triage-${entry.at.toISOString()}`,
        title: `${baseName(record.outPath)}: triage changed by ${entry.by}`,
        updated: entry.at,
        link,
        author: entry.by,
        summary: changes.map(describe).join('\n'),
      });
    }
  }
  return entries.sort((a, b) => b.updated.getTime() - a.updated.getTime()).slice(0, MAX_FEED_ENTRIES);
}
