import { assertBuilderExists, MissingRecordError } from '../ownership/ownership.ts';
import type { Models } from '../store/models.ts';

/** The admin CLI's: hands a report, ownerless or not, to a builder. */
export async function giveReport(models: Models, name: string, builder: string): Promise<void> {
  await assertBuilderExists(models, builder);
  const { matchedCount } = await models.Report.updateOne({ name }, { $set: { owner: builder } });
  if (matchedCount === 0) throw new MissingRecordError(`no report named ${JSON.stringify(name)}`);
}

/** The admin CLI's: removes a report and its blobs, whoever owns it. */
export async function removeReport(models: Models, name: string): Promise<void> {
  const removed = await models.Report.findOneAndDelete({ name }).lean();
  if (!removed) throw new MissingRecordError(`no report named ${JSON.stringify(name)}`);
  await models.ReportBlob.deleteMany({ version: removed.version });
}
