import type { NamedKey } from '@lilac/common';
import { serveRequests } from '../workerThread.ts';
import { checkSignature, type SignedStatement } from './signatureCheck.ts';
import { SignatureVerifier } from './signatureVerifier.ts';

/** The worker thread behind SignatureThreads: checks a batch of one builder's statements with its keys. */
export interface SignatureBatch {
  readonly statements: readonly SignedStatement[];
  readonly keys: readonly NamedKey[];
}

const verifier = new SignatureVerifier();

serveRequests(({ statements, keys }: SignatureBatch) => statements.map((statement) => checkSignature(statement, keys, verifier)));
