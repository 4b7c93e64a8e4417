import { VERDICT_LABELS, type Verdict } from '@lilac/common';
import type { ReportGraph } from './reportGraph.ts';

/**
 * Levels drawn with indentation. Deeper lines keep this level's indentation and
 * say their depth: indenting a 10,000-deep chain fully made a 200 MB answer
 * (indentation grows with the square of the depth), bounded it stays
 * proportional to the number of lines.
 */
export const MAX_INDENTED_DEPTH = 32;

interface Pending {
  readonly id: number;
  readonly depth: number;
  readonly prefix: string;
  readonly connector: string;
}

/**
 * `nix-store --query --tree` style, each line with its verdict. A node reached
 * again (a shared subtree or a cycle) is printed once in full and afterwards
 * as a reference, so the output is linear in nodes plus edges.
 */
export function renderTextTree(graph: ReportGraph, verdictOf: (outPath: string) => Verdict): string {
  const lines: string[] = [];
  const printed = new Set<number>();
  const label = (id: number) => {
    const node = graph.nodes[id];
    if (!node) return '';
    return node.outPath === null ? node.name : `${node.outPath} [${VERDICT_LABELS[verdictOf(node.outPath)]}]`;
  };
  // Iterative depth-first walk: closures can be deeper than the call stack.
  const stack: Pending[] = [{ id: graph.root, depth: 0, prefix: '', connector: '' }];
  while (stack.length > 0) {
    const { id, depth, prefix, connector } = stack.pop() as Pending;
    const start = depth > MAX_INDENTED_DEPTH ? `${prefix}… depth ${depth} ${connector}` : `${prefix}${connector}`;
    if (printed.has(id)) {
      lines.push(`${start}${label(id)} (shown above)`);
      continue;
    }
    printed.add(id);
    lines.push(`${start}${label(id)}`);
    const children = graph.children[id] ?? [];
    const childPrefix = depth === 0 || depth >= MAX_INDENTED_DEPTH ? prefix : prefix + (connector === '└── ' ? '    ' : '│   ');
    for (let index = children.length - 1; index >= 0; index--) {
      stack.push({ id: children[index] as number, depth: depth + 1, prefix: childPrefix, connector: index === children.length - 1 ? '└── ' : '├── ' });
    }
  }
  return `${lines.join('\n')}\n`;
}
