import { readFileSync, realpathSync } from 'node:fs';
import { derivationInputs, outputNameOf, parseDerivationPath, parseStorePath, type DerivationOutput, type SbomNode } from '@lilac/common';
import { runNix, NixCommandError } from '../store/nixCommand.ts';
import { parsePathInfoJson } from '../store/pathInfo.ts';

/** A closure as Nix knows it: the root and every other path of it. */
export interface NixClosure {
  readonly root: SbomNode;
  readonly components: readonly SbomNode[];
  /** Outputs of the closure that have no path yet (content-addressed, never built), left out. */
  readonly unknownOutputs: number;
}

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line !== '');
}

/** `nix-store --query --requisites`: Nix's own message when `path` is not in the store. */
async function requisites(path: string): Promise<string[]> {
  return lines(await runNix('nix-store', ['--query', '--requisites', path], 10 * 60_000));
}

/** The store path `given` names (a `./result` link is followed); Nix has already said it is valid. */
function storePathOf(given: string): string {
  let resolved = given;
  try {
    resolved = realpathSync(given);
  } catch {
    // not a file here (a store on another machine): the path as given
  }
  return parseStorePath(resolved).path;
}

function outputOf(deriver: string | null, outPath: string): string | null {
  if (deriver === null) return null;
  try {
    return outputNameOf(deriver, outPath);
  } catch {
    return null;
  }
}

/**
 * The runtime closure of `outPath`: exactly the paths of `nix-store
 * --query --requisites`, each with its references and, where the store
 * knows it, its deriver (`nix path-info --json --recursive`, one call for
 * the whole closure).
 */
export async function runtimeClosure(outPath: string): Promise<NixClosure> {
  const paths = await requisites(outPath);
  const rootPath = storePathOf(outPath);
  if (parseStorePath(rootPath).isDerivation) throw new NixCommandError(`${rootPath} is a derivation: its build closure is --build-closure`);
  const infos = new Map(parsePathInfoJson(await runNix('nix', ['path-info', '--json', '--recursive', rootPath], 10 * 60_000)).map((info) => [info.outPath, info]));
  const nodes = paths.map((path): SbomNode => {
    const info = infos.get(path);
    if (info === undefined) throw new NixCommandError(`nix path-info --recursive ${rootPath} said nothing about ${path}, which nix-store --query --requisites lists`);
    return {
      ref: path,
      name: parseStorePath(path).name,
      outPath: path,
      drvPath: info.deriver,
      output: outputOf(info.deriver, path),
      // A path may refer to itself; the graph does not need that edge.
      dependsOn: info.references.filter((reference) => reference !== path),
    };
  });
  const root = nodes.find((node) => node.ref === rootPath);
  if (root === undefined) throw new NixCommandError(`nix-store --query --requisites ${outPath} does not list ${rootPath}`);
  return { root, components: nodes.filter((node) => node !== root), unknownOutputs: 0 };
}

/**
 * The build closure of `drvPath`: the outputs of every derivation in
 * `nix-store --query --requisites`, read from the `.drv` files, each
 * depending on the outputs its derivation's inputs name. The root is the
 * derivation itself, depending on its outputs. Sources that no derivation
 * builds (`inputSrcs`) are left out: there is nothing to rebuild. Two
 * fixed-output derivations can name one path; the first (by path) keeps it.
 */
export async function buildClosure(drvPath: string): Promise<NixClosure> {
  const paths = await requisites(drvPath);
  const rootDrv = parseDerivationPath(storePathOf(drvPath)).path;
  const derivations = new Map<string, ReturnType<typeof derivationInputs>>();
  for (const path of paths.filter((candidate) => candidate.endsWith('.drv')).sort()) {
    derivations.set(path, derivationInputs(readFileSync(path, 'utf8')));
  }
  const pathOf = (drv: string, output: string): string | null => derivations.get(drv)?.outputs.find((candidate) => candidate.name === output)?.path ?? null;
  const known = (output: DerivationOutput): output is DerivationOutput & { path: string } => output.path !== null;

  const byRef = new Map<string, SbomNode>();
  let unknownOutputs = 0;
  for (const [drv, { outputs, inputDrvs }] of derivations) {
    const dependsOn = inputDrvs.flatMap((input) => input.outputs.map((output) => pathOf(input.drvPath, output)).filter((path): path is string => path !== null));
    unknownOutputs += outputs.filter((output) => !known(output)).length;
    for (const output of outputs.filter(known)) {
      if (byRef.has(output.path)) continue;
      byRef.set(output.path, { ref: output.path, name: parseStorePath(output.path).name, outPath: output.path, drvPath: drv, output: output.name, dependsOn });
    }
  }
  const rootOutputs = derivations.get(rootDrv)?.outputs.filter(known).map((output) => output.path) ?? [];
  const root: SbomNode = { ref: rootDrv, name: parseStorePath(rootDrv).name.replace(/\.drv$/, ''), outPath: null, drvPath: rootDrv, output: null, dependsOn: rootOutputs };
  return { root, components: [...byRef.values()], unknownOutputs };
}
