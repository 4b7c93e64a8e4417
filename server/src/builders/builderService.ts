import { formatKey, parsePublicKey, type NamedKey } from '@lilac/common';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { Models } from '../store/models.ts';
import { BUILDER_NAME_PATTERN, type BuilderRecord } from './builderModel.ts';
import { generateToken, hashToken, tokenHashesMatch } from './tokens.ts';
import { DomainError } from '../domainError.ts';

export class BuilderError extends DomainError<'invalid' | 'not-found' | 'conflict'> {
  override name = 'BuilderError';
}

export interface Builder {
  readonly name: string;
  readonly keys: readonly { name: string; key: string }[];
  readonly lastSeenAt: Date | null;
  readonly createdAt: Date;
}

function toBuilder(record: BuilderRecord & { createdAt?: Date }): Builder {
  return {
    name: record.name,
    keys: record.keys.map(({ name, key }) => ({ name, key })),
    lastSeenAt: record.lastSeenAt ?? null,
    createdAt: record.createdAt ?? new Date(0),
  };
}

/** Parsed once per `Builder` read from the store: authentication hands out the same one for a while, and a builder's keys only change by a new read. */
const parsedKeys = new WeakMap<Builder, readonly NamedKey[]>();

/** The builder's keys that can verify anything: one registered before libsodium's rules were enforced at registration is passed over. */
export function publicKeysOf(builder: Builder): readonly NamedKey[] {
  let keys = parsedKeys.get(builder);
  if (!keys) {
    keys = builder.keys.flatMap(({ key }) => {
      try {
        return [parsePublicKey(key)];
      } catch {
        return [];
      }
    });
    parsedKeys.set(builder, keys);
  }
  return keys;
}

function validatedKey(publicKey: string): { name: string; key: string } {
  try {
    const parsed = parsePublicKey(publicKey);
    return { name: parsed.name, key: formatKey(parsed) };
  } catch (error) {
    throw new BuilderError('invalid', (error as Error).message);
  }
}

/** "Last seen" is shown to the minute; builders submitting all the time need not write it with every request. */
const LAST_SEEN_RESOLUTION_MS = 30_000;
/**
 * How long a token, once found, is taken without asking the store again: every submission and every
 * pool message authenticates, and two reads each were most of what a one-attestation request cost.
 * Changes made through this service take effect at once; a token revoked by another process (the
 * admin CLI) stops working within this time.
 */
const AUTHENTICATED_FOR_MS = 2_000;
const MAX_AUTHENTICATED = 10_000;

export class BuilderService {
  private readonly lastSeenWritten = new Map<string, number>();
  /** By token hash. */
  private readonly authenticated = new Map<string, { builder: Builder; until: number }>();

  constructor(
    private readonly models: Models,
    private readonly now: () => number = Date.now,
  ) {}

  async create(name: string, options: { token?: string; publicKeys?: readonly string[] } = {}): Promise<{ builder: Builder; token: string }> {
    if (!BUILDER_NAME_PATTERN.test(name)) {
      throw new BuilderError('invalid', `builder name must match ${BUILDER_NAME_PATTERN}: ${JSON.stringify(name)}`);
    }
    const keys = (options.publicKeys ?? []).map(validatedKey);
    for (const key of keys) await this.refuseKeyHeldByAnother(name, key.key);
    const token = options.token ?? generateToken();
    if (token.length < 16) throw new BuilderError('invalid', 'a token must have at least 16 characters');
    try {
      const record = await this.models.Builder.create({ name, keys });
      try {
        await this.models.BuilderToken.create({ hash: hashToken(token), builder: name });
      } catch (error) {
        await this.models.Builder.deleteOne({ name });
        throw error;
      }
      return { builder: toBuilder(record.toObject()), token };
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new BuilderError('conflict', `builder ${name} or that token exists already`);
      throw error;
    }
  }

  async issueToken(name: string): Promise<string> {
    await this.get(name);
    const token = generateToken();
    await this.models.BuilderToken.create({ hash: hashToken(token), builder: name });
    return token;
  }

  async get(name: string): Promise<Builder> {
    const record = await this.models.Builder.findOne({ name }).lean();
    if (!record) throw new BuilderError('not-found', `no builder named ${JSON.stringify(name)}`);
    return toBuilder(record);
  }

  async find(name: string): Promise<Builder | null> {
    const record = await this.models.Builder.findOne({ name }).lean();
    return record ? toBuilder(record) : null;
  }

  async list(): Promise<Builder[]> {
    const records = await this.models.Builder.find().sort({ name: 1 }).lean();
    return records.map(toBuilder);
  }

  async addKey(name: string, publicKey: string): Promise<Builder> {
    const key = validatedKey(publicKey);
    const builder = await this.get(name);
    if (builder.keys.some((existing) => existing.name === key.name)) {
      throw new BuilderError('conflict', `builder ${name} already has a key named ${key.name}`);
    }
    await this.refuseKeyHeldByAnother(name, key.key);
    await this.models.Builder.updateOne({ name }, { $addToSet: { keys: key } });
    this.authenticated.clear();
    return this.get(name);
  }

  async removeKey(name: string, keyName: string): Promise<Builder> {
    const builder = await this.get(name);
    if (!builder.keys.some((key) => key.name === keyName)) {
      throw new BuilderError('not-found', `builder ${name} has no key named ${keyName}`);
    }
    // $pull with a condition on array elements is not in FerretDB 1.24; keys change rarely and only by an operator.
    await this.models.Builder.updateOne({ name }, { $set: { keys: builder.keys.filter((key) => key.name !== keyName) } });
    this.authenticated.clear();
    return this.get(name);
  }

  /** Returns whether a token was revoked. */
  async revokeToken(token: string): Promise<boolean> {
    const result = await this.models.BuilderToken.deleteOne({ hash: hashToken(token) });
    this.authenticated.clear();
    return result.deletedCount === 1;
  }

  async authenticate(token: string): Promise<Builder | null> {
    const hash = hashToken(token);
    const remembered = this.authenticated.get(hash);
    if (remembered && remembered.until > this.now()) return remembered.builder;
    const record = await this.models.BuilderToken.findOne({ hash }).lean();
    if (!record || !tokenHashesMatch(record.hash, hash)) return null;
    const builder = await this.find(record.builder);
    if (builder) {
      if (this.authenticated.size >= MAX_AUTHENTICATED) this.authenticated.clear();
      this.authenticated.set(hash, { builder, until: this.now() + AUTHENTICATED_FOR_MS });
    }
    return builder;
  }

  async touch(name: string, at = new Date()): Promise<void> {
    const written = this.lastSeenWritten.get(name);
    if (written !== undefined && at.getTime() - written < LAST_SEEN_RESOLUTION_MS) return;
    this.lastSeenWritten.set(name, at.getTime());
    await this.models.Builder.updateOne({ name }, { $set: { lastSeenAt: at } });
  }

  /**
   * One key shared by two builders would let one machine count as two independent builders.
   * Keys are compared by their bytes: the same key under another key name, or written without
   * base64 padding, is the same key. Builders are few and keys change only by an operator, so
   * they are all read; that also covers keys registered before this check compared bytes.
   */
  private async refuseKeyHeldByAnother(name: string, key: string): Promise<void> {
    const bytes = Buffer.from(parsePublicKey(key).bytes);
    const others = await this.models.Builder.find({ name: { $ne: name } }, { name: 1, keys: 1 }).lean();
    const holder = others.find((other) => other.keys.some((held) => bytes.equals(Buffer.from(parsePublicKey(held.key).bytes))));
    if (holder) throw new BuilderError('conflict', `that public key is registered to builder ${holder.name}`);
  }
}
