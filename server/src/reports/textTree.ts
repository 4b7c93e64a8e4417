import { VERDICT_LABELS, type Verdict } from '@lilac/common';
import type { ReportGraph } from './reportGraph.ts';

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
  const stack: { id: number; prefix: string; connector: string }[] = [{ id: graph.root, prefix: '', connector: '' }];
  while (stack.length > 0) {
    const { id, prefix, connector } = stack.pop() as { id: number; prefix: string; connector: string };
    if (printed.has(id)) {
      lines.push(`${prefix}${connector}${label(id)} (shown above)`);
      continue;
    }
    printed.add(id);
    lines.push(`${prefix}${connector}${label(id)}`);
    const children = graph.children[id] ?? [];
    const childPrefix = prefix + (connector === '' ? '' : connector === '└── ' ? '    ' : '│   ');
    for (let index = children.length - 1; index >= 0; index--) {
      stack.push({ id: children[index] as number, prefix: childPrefix, connector: index === children.length - 1 ? '└── ' : '├── ' });
    }
  }
  return `${lines.join('\n')}\n`;
}
