import { parseStoreBaseName, parseStorePath } from './storePath.ts';

/** The fields of a `.narinfo` that lilac reads or serves. */
export interface Narinfo {
  readonly storePath: string;
  readonly url?: string;
  readonly compression?: string;
  readonly narHash: string;
  readonly narSize?: number;
  /** Base names (`<digest>-<name>`), as narinfo writes them. */
  readonly references?: readonly string[];
  /** Base name of the deriver, as narinfo writes it. */
  readonly deriver?: string;
  readonly sigs: readonly string[];
}

export const NARINFO_CONTENT_TYPE = 'text/x-nix-narinfo';

export class InvalidNarinfoError extends Error {
  override name = 'InvalidNarinfoError';
}

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** True when `value` can be a narinfo field's value: one line, so it cannot add fields of its own. */
export function isNarinfoValue(value: string): boolean {
  return !CONTROL_CHARACTER.test(value);
}

/** Refuses any value with a line break or other control character: a `Sig` holding `\nStorePath: …` would rewrite the narinfo. */
export function renderNarinfo(info: Narinfo): string {
  const fields: [string, string][] = [['StorePath', info.storePath]];
  if (info.url !== undefined) fields.push(['URL', info.url]);
  if (info.compression !== undefined) fields.push(['Compression', info.compression]);
  fields.push(['NarHash', info.narHash]);
  if (info.narSize !== undefined) fields.push(['NarSize', String(info.narSize)]);
  if (info.references !== undefined) fields.push(['References', info.references.join(' ')]);
  if (info.deriver !== undefined) fields.push(['Deriver', info.deriver]);
  for (const sig of info.sigs) fields.push(['Sig', sig]);
  for (const [key, value] of fields) {
    if (!isNarinfoValue(value)) throw new InvalidNarinfoError(`narinfo ${key} holds a control character: ${JSON.stringify(value)}`);
  }
  return fields.map(([key, value]) => `${key}: ${value}\n`).join('');
}

export function parseNarinfo(text: string): Narinfo {
  const fields = new Map<string, string>();
  const sigs: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(': ');
    if (colon < 1) throw new InvalidNarinfoError(`narinfo line is not "Key: value": ${JSON.stringify(line)}`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (key === 'Sig') sigs.push(value);
    else fields.set(key, value);
  }
  const storePath = fields.get('StorePath');
  const narHash = fields.get('NarHash');
  if (storePath === undefined || narHash === undefined) throw new InvalidNarinfoError('narinfo lacks StorePath or NarHash');
  parseStorePath(storePath);
  const narSizeText = fields.get('NarSize');
  const narSize = narSizeText === undefined ? undefined : Number(narSizeText);
  if (narSize !== undefined && !Number.isSafeInteger(narSize)) throw new InvalidNarinfoError(`bad NarSize ${JSON.stringify(narSizeText)}`);
  const referencesText = fields.get('References');
  const references = referencesText === undefined ? undefined : referencesText.split(' ').filter((reference) => reference !== '');
  for (const reference of references ?? []) parseStoreBaseName(reference);
  const deriver = fields.get('Deriver');
  const url = fields.get('URL');
  const compression = fields.get('Compression');
  return {
    storePath,
    narHash,
    sigs,
    ...(url !== undefined && { url }),
    ...(compression !== undefined && { compression }),
    ...(narSize !== undefined && { narSize }),
    ...(references !== undefined && { references }),
    ...(deriver !== undefined && deriver !== 'unknown-deriver' && { deriver }),
  };
}
