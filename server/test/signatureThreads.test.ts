import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { generateKeyPair, narinfoFingerprint, signFingerprint } from '@lilac/common';
import { SignatureThreads } from '../src/attestations/signatureThreads.ts';
import { MISSING_FIELDS_REASON, type SignedStatement } from '../src/attestations/signatureCheck.ts';
import { narHash, storePath } from './support/attestationFixtures.ts';

const threads = new SignatureThreads(2);
after(() => threads.close());

const [alice, bob] = [generateKeyPair('alice-1'), generateKeyPair('bob-1')];

/** `signer` signs what was built; the statement claims `claimed` over that. */
function statement(name: string, signer: typeof alice, claimed: Partial<Pick<SignedStatement, 'narSize' | 'references'>> = {}): SignedStatement {
  const built = { outPath: storePath(name), narHash: narHash(name), narSize: 1024, references: [] };
  return { ...built, ...claimed, signature: signFingerprint(signer.secretKey, narinfoFingerprint(built)) };
}

test('checks asked for together, by several builders, each get their own answers in their order', async () => {
  // Asked in one turn of the event loop, so that they share messages to the threads.
  const [aliceChecks, bobChecks, lone] = await Promise.all([
    threads.check([statement('a-1', alice), statement('a-2', bob), statement('a-3', alice, { narSize: 1 })], [alice.publicKey]),
    threads.check([statement('b-1', bob), statement('b-2', alice)], [bob.publicKey]),
    threads.check([statement('c-1', alice, { narSize: null, references: null })], [alice.publicKey]),
  ]);
  assert.deepEqual(aliceChecks, [
    { valid: true, keyName: 'alice-1' },
    { valid: false, reason: 'unknown key "bob-1"' },
    { valid: false, reason: 'signature does not match key "alice-1"' },
  ]);
  assert.deepEqual(bobChecks, [
    { valid: true, keyName: 'bob-1' },
    { valid: false, reason: 'unknown key "alice-1"' },
  ]);
  assert.deepEqual(lone, [{ valid: false, reason: MISSING_FIELDS_REASON }]);
});

test('a request larger than one message is checked whole, in order, across the threads', async () => {
  const statements = Array.from({ length: 1_100 }, (_, index) => statement(`many-${index}`, index % 7 === 0 ? bob : alice));
  const checks = await threads.check(statements, [alice.publicKey]);
  assert.equal(checks.length, statements.length);
  checks.forEach((check, index) => assert.equal(check.valid, index % 7 !== 0, `statement ${index}`));
});

test('once closed, checks waiting and checks asked later are refused, not left waiting or given a new thread', async () => {
  const closing = new SignatureThreads(1);
  const waiting = closing.check([statement('late-1', alice)], [alice.publicKey]);
  await closing.close();
  await assert.rejects(waiting, /shutting down/);
  await assert.rejects(closing.check([statement('late-2', alice)], [alice.publicKey]), /shutting down/);
});
