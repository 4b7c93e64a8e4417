import type { NamedKey, SignatureCheck } from '@lilac/common';
import { serveRequests } from '../workerThread.ts';
import { checkSignature, type SignedStatement } from './signatureCheck.ts';
import { SignatureVerifier } from './signatureVerifier.ts';

/** Statements of one builder, with its keys. */
export interface BuilderStatements {
  readonly statements: readonly SignedStatement[];
  readonly keys: readonly NamedKey[];
}

/** The worker thread behind SignatureThreads: checks the statements of several builders, answering their checks in the same order. */
export type SignatureBatch = readonly BuilderStatements[];

const verifier = new SignatureVerifier();

/** A message carries several builders' requests: a statement the check cannot handle fails alone, not its neighbours. */
function checked(statement: SignedStatement, keys: readonly NamedKey[]): SignatureCheck {
  try {
    return checkSignature(statement, keys, verifier);
  } catch (error) {
    return { valid: false, reason: `signature could not be checked: ${(error as Error).message}` };
  }
}

serveRequests((batch: SignatureBatch): SignatureCheck[][] => batch.map(({ statements, keys }) => statements.map((statement) => checked(statement, keys))));
