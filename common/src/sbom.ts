/**
 * The CycloneDX shape lila's report tools (nix-runtime-tree-to-sbom,
 * nix-build-sbom) write and lilac reads: the root in `metadata.component`,
 * every other store path in `components` with its `bom-ref` the path itself,
 * Nix facts as properties, and the graph in `dependencies`.
 */
export const SBOM_PROPERTY = {
  outPath: 'nix:out_path',
  /** What some generators call the output path instead. */
  outputPath: 'nix:output_path',
  drvPath: 'nix:drv_path',
  /** Which output of `nix:drv_path` the component is (`out` when missing). */
  output: 'nix:output',
  /** The attribute the closure was built from (`nixos.iso_gnome`), on the root only. */
  attrPath: 'nix:attr_path',
} as const;

/** One component of a closure SBOM; `ref` is its `bom-ref`. */
export interface SbomNode {
  readonly ref: string;
  readonly name: string;
  readonly outPath: string | null;
  readonly drvPath: string | null;
  readonly output: string | null;
  /** `bom-ref`s of the components it depends on. */
  readonly dependsOn: readonly string[];
}

export interface ClosureSbom {
  /** `runtime_only` or `build_time`, as nix-build-sbom's `sbom_type`. */
  readonly kind: 'runtime_only' | 'build_time';
  readonly root: SbomNode;
  readonly components: readonly SbomNode[];
  readonly attrPath: string | null;
  /** The program that wrote it, for `metadata.tools`. */
  readonly tool: string;
  readonly timestamp: Date;
}

interface CycloneDxProperty {
  readonly name: string;
  readonly value: string;
}

function properties(node: SbomNode): CycloneDxProperty[] {
  const list: CycloneDxProperty[] = [];
  if (node.drvPath !== null) list.push({ name: SBOM_PROPERTY.drvPath, value: node.drvPath });
  if (node.output !== null) list.push({ name: SBOM_PROPERTY.output, value: node.output });
  if (node.outPath !== null) list.push({ name: SBOM_PROPERTY.outPath, value: node.outPath });
  return list;
}

/** The CycloneDX 1.5 JSON document of a closure, components and edges in `bom-ref` order so equal closures give equal documents. */
export function closureSbomDocument(sbom: ClosureSbom): Record<string, unknown> {
  const byRef = (a: SbomNode, b: SbomNode) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);
  const components = [...sbom.components].sort(byRef);
  const rootProperties = properties(sbom.root);
  if (sbom.attrPath !== null) rootProperties.push({ name: SBOM_PROPERTY.attrPath, value: sbom.attrPath });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: sbom.timestamp.toISOString(),
      tools: [{ name: sbom.tool }],
      properties: [{ name: 'sbom_type', value: sbom.kind }],
      component: { type: 'application', 'bom-ref': sbom.root.ref, name: sbom.root.name, properties: rootProperties },
    },
    components: components.map((node) => ({ type: 'library', 'bom-ref': node.ref, name: node.name, properties: properties(node) })),
    dependencies: [sbom.root, ...components].map((node) => ({ ref: node.ref, dependsOn: [...node.dependsOn].sort() })),
  };
}
