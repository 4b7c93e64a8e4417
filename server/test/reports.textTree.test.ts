import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReportGraph, ReportNode } from '../src/reports/reportGraph.ts';
import { MAX_INDENTED_DEPTH, renderTextTree } from '../src/reports/textTree.ts';

function chain(depth: number): ReportGraph {
  const nodes: ReportNode[] = Array.from({ length: depth }, (_, index) => ({
    outPath: `/nix/store/${String(index).padStart(32, '0')}-link-${index}`,
    drvPath: null,
    output: null,
    name: `link-${index}`,
  }));
  return { root: 0, nodes, children: nodes.map((_, index) => (index + 1 < depth ? [index + 1] : [])) };
}

test('a deep chain answers in size proportional to its paths, deeper lines saying their depth', () => {
  const depth = 5_000;
  const lines = renderTextTree(chain(depth), () => 'one-build').trimEnd().split('\n');
  assert.equal(lines.length, depth);
  const longestPath = `/nix/store/${'0'.repeat(32)}-link-${depth} [one build]`.length;
  for (const line of lines) assert.ok(line.length <= 4 * MAX_INDENTED_DEPTH + longestPath + 20, `${line.length} characters: ${line.slice(0, 80)}…`);
  assert.equal(lines[MAX_INDENTED_DEPTH], `${' '.repeat(4 * (MAX_INDENTED_DEPTH - 1))}└── ${chain(depth).nodes[MAX_INDENTED_DEPTH]?.outPath} [one build]`);
  assert.match(lines[depth - 1] ?? '', new RegExp(`^ {${4 * (MAX_INDENTED_DEPTH - 1)}}… depth ${depth - 1} └── /nix/store/\\d+-link-${depth - 1} \\[one build\\]$`));
});

test('siblings below the indentation bound keep their tree connectors', () => {
  const graph = chain(MAX_INDENTED_DEPTH + 3);
  const last = graph.nodes.length - 1;
  const extra: ReportNode = { outPath: `/nix/store/${'z'.repeat(32)}-extra`, drvPath: null, output: null, name: 'extra' };
  const children = graph.children.map((ids, id) => (id === last - 1 ? [...ids, last + 1] : ids));
  const lines = renderTextTree({ root: 0, nodes: [...graph.nodes, extra], children: [...children, []] }, () => 'reproduced').trimEnd().split('\n');
  assert.match(lines.at(-2) ?? '', new RegExp(`… depth ${last} ├── /nix/store/\\d+-link-${last} \\[reproduced\\]$`));
  assert.match(lines.at(-1) ?? '', new RegExp(`… depth ${last} └── /nix/store/z+-extra \\[reproduced\\]$`));
});
