import type { Document, MongooseQueryMiddleware, Query, Schema } from 'mongoose';

/** Query operations whose filter may name the natural key. */
const FILTERED_OPERATIONS: MongooseQueryMiddleware[] = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
];

function isStringList(value: unknown): value is { $in: string[] } {
  if (typeof value !== 'object' || value === null || Object.keys(value).length !== 1) return false;
  const list = (value as { $in?: unknown }).$in;
  return Array.isArray(list) && list.every((item) => typeof item === 'string');
}

/**
 * Stores each document under `_id = keyOf(its natural key fields)` and adds
 * that `_id` to every filter naming the whole natural key, so lookups by
 * output path, derivation path and the like are served by the primary index
 * on any store. The embedded FerretDB serves no other index
 * (server/embedded-store/ferretdb-patches.json says why), and a full scan per
 * attestation would make ingest slower with every output ever recorded.
 * `keyOf` must be injective.
 */
export function keyedBy<K>(schema: Schema, fields: readonly string[], keyOf: (values: readonly string[]) => K): void {
  schema.pre('validate', function (this: Document) {
    if (!this.isNew) return;
    const values: unknown[] = fields.map((field) => this.get(field));
    if (values.every((value) => typeof value === 'string')) this.set('_id', keyOf(values as string[]));
  });
  schema.pre(FILTERED_OPERATIONS, function (this: Query<unknown, unknown>) {
    const filter = this.getFilter();
    if ('_id' in filter) return;
    const values: unknown[] = fields.map((field) => filter[field]);
    if (values.every((value) => typeof value === 'string')) {
      // The natural key stays in the filter: an upsert copies it into the new document.
      this.where('_id').equals(keyOf(values as string[]));
      return;
    }
    const [field] = fields;
    const list = values[0];
    if (fields.length === 1 && field !== undefined && isStringList(list)) {
      // Replaced, not added: the key list is equivalent, and re-checking both would cost a pass over the list per document.
      const { [field]: _replaced, ...rest } = filter;
      this.setQuery({ ...rest, _id: { $in: list.$in.map((value) => keyOf([value])) } });
    }
  });
}
