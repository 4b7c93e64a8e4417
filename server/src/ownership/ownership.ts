import type { Models } from '../store/models.ts';

/**
 * Reports and link patterns belong to the builder that made them: another
 * builder may not change them. Records made before lilac kept owners have
 * none, and no builder may change them until an operator gives them one
 * (first come, first served would hand them to whoever asks first).
 */
export class NotOwnerError extends Error {
  override name = 'NotOwnerError';
}

/** `what` as the client named it (`report "x"`), and the admin command, with its argument, that gives it an owner. */
export function notOwner(what: string, owner: string | null | undefined, giveCommand: string): NotOwnerError {
  if (owner === null || owner === undefined) {
    return new NotOwnerError(`${what} has no owner (it was made before lilac kept owners): an operator gives it one with \`npm run admin -- ${giveCommand} BUILDER\``);
  }
  return new NotOwnerError(`${what} belongs to ${owner}: only ${owner}, or an operator with \`npm run admin -- ${giveCommand} BUILDER\`, can change it`);
}

/** Quotes an argument for a POSIX shell, for commands shown to an operator. */
export function shellQuoted(argument: string): string {
  return /^[A-Za-z0-9._+\-/:=@]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** What an operator named (a report, a link pattern, a builder) does not exist. */
export class MissingRecordError extends Error {
  override name = 'MissingRecordError';
}

export async function assertBuilderExists(models: Models, builder: string): Promise<void> {
  if (!(await models.Builder.exists({ name: builder }))) throw new MissingRecordError(`no builder named ${JSON.stringify(builder)}`);
}
