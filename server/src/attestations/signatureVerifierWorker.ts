import { parentPort } from 'node:worker_threads';
import { verifyFingerprintSignature } from '@lilac/common';
import type { VerifyRequest, VerifyResponse } from './signatureVerifier.ts';

if (!parentPort) throw new Error('signatureVerifierWorker runs only as a worker thread');
const port = parentPort;
port.on('message', ({ id, fingerprint, signature, keys }: VerifyRequest) => {
  const response: VerifyResponse = { id, check: verifyFingerprintSignature(fingerprint, signature, keys) };
  port.postMessage(response);
});
