import { parseDerivationPath, parseStorePath, SBOM_PROPERTY } from '@lilac/common';
import type { ReportGraph, ReportNode } from './reportGraph.ts';

export class InvalidSbomError extends Error {
  override name = 'InvalidSbomError';
}

interface Component {
  'bom-ref'?: unknown;
  name?: unknown;
  properties?: unknown;
}

function property(component: Component, ...names: string[]): string | null {
  if (!Array.isArray(component.properties)) return null;
  for (const name of names) {
    const found = (component.properties as { name?: unknown; value?: unknown }[]).find((entry) => entry?.name === name);
    if (typeof found?.value === 'string' && found.value !== '') return found.value;
  }
  return null;
}

function node(component: Component, ref: string): ReportNode {
  const where = `component ${JSON.stringify(ref)}`;
  // Some generators use the output path as bom-ref; a derivation path is no output.
  const declared = property(component, SBOM_PROPERTY.outPath, SBOM_PROPERTY.outputPath) ?? (ref.startsWith('/nix/store/') && !ref.endsWith('.drv') ? ref : null);
  let outPath: string | null = null;
  let name = typeof component.name === 'string' && component.name !== '' ? component.name : ref;
  if (declared !== null) {
    try {
      const parsed = parseStorePath(declared);
      outPath = parsed.path;
      name = parsed.name;
    } catch (error) {
      throw new InvalidSbomError(`${where}: ${(error as Error).message}`);
    }
  }
  const drv = property(component, SBOM_PROPERTY.drvPath);
  let drvPath: string | null = null;
  if (drv !== null) {
    try {
      drvPath = parseDerivationPath(drv).path;
    } catch (error) {
      throw new InvalidSbomError(`${where}: ${(error as Error).message}`);
    }
  }
  return { outPath, drvPath, output: property(component, SBOM_PROPERTY.output), name };
}

/** The root as listed in `components`, with what only `metadata.component` says filling its gaps. */
function withRootFallbacks(listed: Component, metadata: Component): Component {
  const properties = [...(Array.isArray(listed.properties) ? listed.properties : []), ...(Array.isArray(metadata.properties) ? metadata.properties : [])];
  return { ...metadata, ...listed, name: listed.name ?? metadata.name, properties };
}

/**
 * Reads the CycloneDX JSON that nix-runtime-tree-to-sbom and nix-build-sbom
 * write: `metadata.component` is the root, `components` the rest, and
 * `dependencies` the edges by `bom-ref`.
 */
export function parseCycloneDx(document: unknown): ReportGraph {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new InvalidSbomError('a CycloneDX SBOM is a JSON object');
  const sbom = document as { metadata?: { component?: Component }; components?: unknown; dependencies?: unknown };
  const rootComponent = sbom.metadata?.component;
  const rootRef = rootComponent?.['bom-ref'];
  if (typeof rootRef !== 'string' || rootRef === '') throw new InvalidSbomError('SBOM lacks metadata.component.bom-ref, the root of the report');
  if (sbom.components !== undefined && !Array.isArray(sbom.components)) throw new InvalidSbomError('components must be an array');
  if (sbom.dependencies !== undefined && !Array.isArray(sbom.dependencies)) throw new InvalidSbomError('dependencies must be an array');

  const ids = new Map<string, number>();
  const nodes: ReportNode[] = [];
  const add = (component: Component, index: number | 'root') => {
    const ref = component?.['bom-ref'];
    if (typeof ref !== 'string' || ref === '') throw new InvalidSbomError(`component ${index} lacks a bom-ref`);
    if (ids.has(ref)) throw new InvalidSbomError(`bom-ref ${JSON.stringify(ref)} appears twice`);
    ids.set(ref, nodes.length);
    nodes.push(node(component, ref));
  };
  const components = (sbom.components as Component[] | undefined) ?? [];
  // Some generators list the root among the components as well, where it carries its Nix properties.
  const listedRoot = components.find((component) => component?.['bom-ref'] === rootRef);
  add(listedRoot ? withRootFallbacks(listedRoot, rootComponent as Component) : (rootComponent as Component), 'root');
  components.forEach((component, index) => {
    if (component?.['bom-ref'] === rootRef) return;
    add(component, index);
  });

  const children: number[][] = nodes.map(() => []);
  const seenEdges = nodes.map(() => new Set<number>());
  (sbom.dependencies as { ref?: unknown; dependsOn?: unknown }[] | undefined)?.forEach((dependency, index) => {
    const from = typeof dependency?.ref === 'string' ? ids.get(dependency.ref) : undefined;
    if (from === undefined) throw new InvalidSbomError(`dependencies[${index}].ref does not name a component`);
    if (dependency.dependsOn === undefined) return;
    if (!Array.isArray(dependency.dependsOn)) throw new InvalidSbomError(`dependencies[${index}].dependsOn must be an array`);
    for (const ref of dependency.dependsOn) {
      const to = typeof ref === 'string' ? ids.get(ref) : undefined;
      if (to === undefined) throw new InvalidSbomError(`dependencies[${index}] depends on ${JSON.stringify(ref)}, which is not a component`);
      if (seenEdges[from]?.has(to)) continue;
      seenEdges[from]?.add(to);
      children[from]?.push(to);
    }
  });
  return { root: 0, nodes, children };
}

/** The attribute the closure was built from: `nix:attr_path` on the root (in `metadata.component`, or where the root is listed). */
export function rootAttrPath(document: unknown): string | null {
  const sbom = document as { metadata?: { component?: Component }; components?: unknown };
  const root = sbom.metadata?.component;
  if (!root) return null;
  const listed = Array.isArray(sbom.components) ? (sbom.components as Component[]).find((component) => component?.['bom-ref'] === root['bom-ref']) : undefined;
  return property(root, SBOM_PROPERTY.attrPath) ?? (listed ? property(listed, SBOM_PROPERTY.attrPath) : null);
}
