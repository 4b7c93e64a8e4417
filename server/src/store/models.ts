import type { Connection } from 'mongoose';
import { builderSchema, builderTokenSchema } from '../builders/builderModel.ts';

/** Every collection lilac keeps, bound to one connection. */
export function createModels(connection: Connection) {
  return {
    Builder: connection.model('Builder', builderSchema),
    BuilderToken: connection.model('BuilderToken', builderTokenSchema),
  };
}

export type Models = ReturnType<typeof createModels>;

/** Creates the indexes (unique ones included) before the first write relies on them. */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) await model.init();
}
