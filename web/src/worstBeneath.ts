import type { ReportTreeNode, Verdict } from '@lilac/common/wire';

/** How much a verdict should worry a reader: what a collapsed subtree shows first. */
const SEVERITY: Record<Verdict, number> = {
  reproduced: 0,
  'one-build': 1,
  'no-builds': 2,
  'partially-reproduced': 3,
  nondeterministic: 4,
};

function worse(a: Verdict | null, b: Verdict | null): Verdict | null {
  if (a === null) return b;
  if (b === null) return a;
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/**
 * The worst verdict among each node's descendants (not the node itself), for
 * nodes that have any store path beneath. Shared subtrees and cycles are
 * fine: a node's worst only ever rises, at most once per severity, so the
 * propagation to parents is linear in nodes plus edges.
 */
export function worstBeneath(nodes: readonly ReportTreeNode[]): Map<number, Verdict> {
  const parents = new Map<number, number[]>();
  const inSubtree = new Map<number, Verdict | null>();
  for (const node of nodes) {
    inSubtree.set(node.id, node.verdict);
    for (const child of node.children) {
      const list = parents.get(child);
      if (list) list.push(node.id);
      else parents.set(child, [node.id]);
    }
  }
  const pending = nodes.map((node) => node.id);
  while (pending.length > 0) {
    const id = pending.pop() as number;
    const verdict = inSubtree.get(id) ?? null;
    for (const parent of parents.get(id) ?? []) {
      const before = inSubtree.get(parent) ?? null;
      const after = worse(before, verdict);
      if (after !== before) {
        inSubtree.set(parent, after);
        pending.push(parent);
      }
    }
  }
  const beneath = new Map<number, Verdict>();
  for (const node of nodes) {
    let worst: Verdict | null = null;
    for (const child of node.children) worst = worse(worst, inSubtree.get(child) ?? null);
    if (worst !== null) beneath.set(node.id, worst);
  }
  return beneath;
}

/** Whether `beneath` should be shown next to a node whose own verdict is `own`. */
export function isWorse(beneath: Verdict | undefined, own: Verdict | null): beneath is Verdict {
  return beneath !== undefined && (own === null || SEVERITY[beneath] > SEVERITY[own]);
}
