export * from './nixBase32.ts';
export * from './storePath.ts';
export * from './narHash.ts';
export * from './fingerprint.ts';
export * from './ed25519Rules.ts';
export * from './keys.ts';
export * from './narinfo.ts';
export * from './wire.ts';
