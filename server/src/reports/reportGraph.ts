/** A report's components and edges, normalised from the SBOM; node ids are array indexes. */
export interface ReportNode {
  readonly outPath: string | null;
  readonly drvPath: string | null;
  readonly output: string | null;
  /** Store path name (`hello-2.12`), or the component name when it is not a store path. */
  readonly name: string;
}

export interface ReportGraph {
  readonly root: number;
  readonly nodes: readonly ReportNode[];
  readonly children: readonly (readonly number[])[];
}

/** Distinct store paths of the graph, in node order. */
export function outPathsOf(graph: ReportGraph): string[] {
  return [...new Set(graph.nodes.map((node) => node.outPath).filter((path): path is string => path !== null))];
}
