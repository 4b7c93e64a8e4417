// Plain JavaScript on purpose: a worker thread that registered tsx's module hooks could deadlock
// the whole process at exit (Node 20), so this file needs nothing but Node and tweetnacl.
import { parentPort } from 'node:worker_threads';
import nacl from 'tweetnacl';

parentPort.on('message', ({ id, message, signature, publicKey }) => {
  parentPort.postMessage({ id, valid: nacl.sign.detached.verify(message, signature, publicKey) });
});
