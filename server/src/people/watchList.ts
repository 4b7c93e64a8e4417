import type { Models } from '../store/models.ts';
import { MemberError } from './memberService.ts';

export const MAX_WATCHED_OUTPUTS = 1000;

export async function watchedOutputs(models: Models, member: string): Promise<string[]> {
  return (await models.WatchList.findOne({ member }).lean())?.outPaths ?? [];
}

/** `$addToSet` and `$pull` are single-document updates: two tabs watching at once lose nothing. */
export async function watch(models: Models, member: string, outPath: string): Promise<void> {
  const watched = await watchedOutputs(models, member);
  if (watched.includes(outPath)) return;
  if (watched.length >= MAX_WATCHED_OUTPUTS) throw new MemberError('invalid', `a watch list holds at most ${MAX_WATCHED_OUTPUTS} outputs`);
  await models.WatchList.updateOne({ member }, { $addToSet: { outPaths: outPath } }, { upsert: true });
}

export async function unwatch(models: Models, member: string, outPath: string): Promise<void> {
  await models.WatchList.updateOne({ member }, { $pull: { outPaths: outPath } });
}
