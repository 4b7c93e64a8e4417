import { parseStoreBaseName } from '@lilac/common';
import type { AppContext } from '../../context.ts';
import { notFound } from '../errors.ts';

/** The output path a `digest-name` URL parameter names, once something was attested for it. */
export async function attestedOutput(context: AppContext, baseName: string): Promise<string> {
  const { path } = parseStoreBaseName(baseName);
  if (!(await context.models.OutputSummary.exists({ outPath: path }))) throw notFound(`nothing attested for ${path}`);
  return path;
}
