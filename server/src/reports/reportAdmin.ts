import { assertBuilderExists, MissingRecordError } from '../ownership/ownership.ts';
import type { Models } from '../store/models.ts';
import { deleteHistory } from './reportHistory.ts';
import { withReportLock } from './reportLock.ts';
import { deleteReportState } from './reportStates.ts';

/** The admin CLI's: hands a report, ownerless or not, to a builder. */
export async function giveReport(models: Models, name: string, builder: string): Promise<void> {
  await assertBuilderExists(models, builder);
  const { matchedCount } = await models.Report.updateOne({ name }, { $set: { owner: builder } });
  if (matchedCount === 0) throw new MissingRecordError(`no report named ${JSON.stringify(name)}`);
}

/** The admin CLI's: removes a report, its blobs and its history, whoever owns it. */
export async function removeReport(models: Models, name: string): Promise<void> {
  // Under the upload lock: an upload switching the report at the same moment would otherwise outlive it.
  const removed = await withReportLock(models, name, async () => {
    const record = await models.Report.findOne({ name }).lean();
    if (record) await models.Report.deleteOne({ name });
    return record;
  });
  if (!removed) throw new MissingRecordError(`no report named ${JSON.stringify(name)}`);
  await models.ReportBlob.deleteMany({ version: removed.version });
  await deleteReportState(models, removed.version);
  await deleteHistory(models, name);
}
