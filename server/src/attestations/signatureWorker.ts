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

serveRequests((batch: SignatureBatch): SignatureCheck[][] => batch.map(({ statements, keys }) => statements.map((statement) => checkSignature(statement, keys, verifier))));
