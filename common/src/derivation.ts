import { parseDerivationPath, parseStorePath } from './storePath.ts';

export class DerivationFormatError extends Error {
  override name = 'DerivationFormatError';
}

/** One entry of a derivation's outputs; `path` is null for outputs whose path is known only once built (content-addressed). */
export interface DerivationOutput {
  readonly name: string;
  readonly path: string | null;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t' };

/** Reads the ATerm string starting at `text[start]` (a `"`); returns it and the index after its closing quote. */
function readString(text: string, start: number): [string, number] {
  if (text[start] !== '"') throw new DerivationFormatError(`expected a string at offset ${start}`);
  let value = '';
  for (let index = start + 1; index < text.length; index++) {
    const char = text[index]!;
    if (char === '"') return [value, index + 1];
    if (char === '\\') {
      index += 1;
      const escaped = text[index];
      if (escaped === undefined) break;
      value += ESCAPES[escaped] ?? escaped;
    } else {
      value += char;
    }
  }
  throw new DerivationFormatError('unterminated string');
}

function expect(text: string, index: number, literal: string): number {
  if (!text.startsWith(literal, index)) throw new DerivationFormatError(`expected ${JSON.stringify(literal)} at offset ${index}`);
  return index + literal.length;
}

/** Reads the outputs list at the start of a `.drv`; returns them and the index after its closing `]`. */
function readOutputs(text: string): [DerivationOutput[], number] {
  let index = expect(text, 0, 'Derive([');
  const outputs: DerivationOutput[] = [];
  while (text[index] !== ']') {
    if (outputs.length > 0) index = expect(text, index, ',');
    index = expect(text, index, '(');
    const fields: string[] = [];
    for (let field = 0; field < 4; field++) {
      if (field > 0) index = expect(text, index, ',');
      const [value, next] = readString(text, index);
      fields.push(value);
      index = next;
    }
    index = expect(text, index, ')');
    const [name, path] = fields as [string, string];
    outputs.push({ name, path: path === '' ? null : parseStorePath(path).path });
  }
  if (outputs.length === 0) throw new DerivationFormatError('a derivation without outputs');
  return [outputs, index + 1];
}

/**
 * The outputs a `.drv` file (Nix's ATerm `Derive([(name,path,hashAlgo,hash),...],...)`)
 * declares, in its order, so a hook learns them without asking Nix.
 */
export function derivationOutputs(text: string): DerivationOutput[] {
  return readOutputs(text)[0];
}

/** An input derivation of a `.drv` and which of its outputs the build uses. */
export interface DerivationInput {
  readonly drvPath: string;
  readonly outputs: readonly string[];
}

/**
 * A `.drv` file's outputs and its input derivations (the second field,
 * `[(drvPath,[outputName,...]),...]`): what a build closure's graph is made of.
 */
export function derivationInputs(text: string): { outputs: DerivationOutput[]; inputDrvs: DerivationInput[] } {
  const [outputs, afterOutputs] = readOutputs(text);
  return { outputs, inputDrvs: readInputDrvs(text, afterOutputs)[0] };
}

/** The input derivations list after the outputs (at `start`, its leading `,`); returns them and the index after its `]`. */
function readInputDrvs(text: string, start: number): [DerivationInput[], number] {
  let index = expect(text, start, ',[');
  const inputDrvs: DerivationInput[] = [];
  while (text[index] !== ']') {
    if (inputDrvs.length > 0) index = expect(text, index, ',');
    index = expect(text, index, '(');
    const [drvPath, next] = readString(text, index);
    index = expect(text, next, ',[');
    const names: string[] = [];
    while (text[index] !== ']') {
      if (names.length > 0) index = expect(text, index, ',');
      const [name, after] = readString(text, index);
      names.push(name);
      index = after;
    }
    index = expect(text, index, '])');
    inputDrvs.push({ drvPath: parseStorePath(drvPath).path, outputs: names });
  }
  return [inputDrvs, index + 1];
}

/** A `[ "a", "b" ]` list of ATerm strings at `start`; returns them and the index after its `]`. */
function readStringList(text: string, start: number): [string[], number] {
  let index = expect(text, start, '[');
  const items: string[] = [];
  while (text[index] !== ']') {
    if (items.length > 0) index = expect(text, index, ',');
    const [item, next] = readString(text, index);
    items.push(item);
    index = next;
  }
  return [items, index + 1];
}

/**
 * What building a `.drv` needs from a machine, as Nix decides where it may
 * build: its `system` (the fourth field) and the `requiredSystemFeatures` of
 * its environment (space-separated, or a list in `__json` for derivations
 * with structured attributes).
 */
export function derivationRequirements(text: string): { system: string; requiredSystemFeatures: string[] } {
  const [, afterOutputs] = readOutputs(text);
  const [, afterInputDrvs] = readInputDrvs(text, afterOutputs);
  let index = expect(text, afterInputDrvs, ',');
  [, index] = readStringList(text, index);
  const [system, afterSystem] = readString(text, expect(text, index, ','));
  [, index] = readString(text, expect(text, afterSystem, ','));
  [, index] = readStringList(text, expect(text, index, ','));
  index = expect(text, index, ',[');
  const env = new Map<string, string>();
  while (text[index] !== ']') {
    if (env.size > 0) index = expect(text, index, ',');
    const [key, afterKey] = readString(text, expect(text, index, '('));
    const [value, afterValue] = readString(text, expect(text, afterKey, ','));
    env.set(key, value);
    index = expect(text, afterValue, ')');
  }
  return { system, requiredSystemFeatures: requiredFeaturesOf(env) };
}

function requiredFeaturesOf(env: ReadonlyMap<string, string>): string[] {
  const structured = env.get('__json');
  if (structured !== undefined) {
    let attrs: unknown;
    try {
      attrs = JSON.parse(structured);
    } catch {
      throw new DerivationFormatError('__json is not JSON');
    }
    const features = (attrs as { requiredSystemFeatures?: unknown } | null)?.requiredSystemFeatures;
    return Array.isArray(features) ? features.filter((feature): feature is string => typeof feature === 'string') : [];
  }
  return (env.get('requiredSystemFeatures') ?? '').split(/\s+/).filter((feature) => feature !== '');
}

/**
 * Which output of `drvPath` the path `outPath` is, from the names alone: Nix
 * names output `out` of derivation `hello` `hello` and any other output
 * `hello-<output>`. Null when the names do not fit.
 */
export function outputNameOf(drvPath: string, outPath: string): string | null {
  const drvName = parseDerivationPath(drvPath).name.replace(/\.drv$/, '');
  const outName = parseStorePath(outPath).name;
  if (outName === drvName) return 'out';
  return outName.startsWith(`${drvName}-`) && outName.length > drvName.length + 1 ? outName.slice(drvName.length + 1) : null;
}
