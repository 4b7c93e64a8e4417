import { randomDigest } from './attestationFixtures.ts';

export interface GeneratedPath {
  readonly outPath: string;
  readonly drvPath: string;
  readonly name: string;
}

export interface GeneratedSbom {
  readonly sbom: Record<string, unknown>;
  readonly root: GeneratedPath;
  readonly paths: GeneratedPath[];
}

/**
 * A CycloneDX SBOM shaped like nix-build-sbom's: `paths` store paths, the first
 * the root, each depending on up to `fanout` later ones (shared subtrees), plus
 * one back edge making a cycle.
 */
export function generateSbom(count: number, fanout = 3): GeneratedSbom {
  const paths: GeneratedPath[] = Array.from({ length: count }, (_, index) => {
    const name = `pkg-${index}-1.0`;
    return { outPath: `/nix/store/${randomDigest()}-${name}`, drvPath: `/nix/store/${randomDigest()}-${name}.drv`, name };
  });
  const component = (path: GeneratedPath) => ({
    type: 'application',
    'bom-ref': path.drvPath,
    name: path.name.replace(/-1\.0$/, ''),
    version: '1.0',
    properties: [
      { name: 'nix:drv_path', value: path.drvPath },
      { name: 'nix:output', value: 'out' },
      { name: 'nix:out_path', value: path.outPath },
    ],
  });
  const dependencies = paths.map((path, index) => {
    const dependsOn = new Set<string>();
    for (let edge = 1; edge <= fanout; edge++) {
      const target = index * fanout + edge;
      if (target < count) dependsOn.add((paths[target] as GeneratedPath).drvPath);
    }
    // Shared subtrees: also depend on a later node's child.
    const shared = index + 2;
    if (shared < count && index % 5 === 0) dependsOn.add((paths[shared] as GeneratedPath).drvPath);
    return { ref: path.drvPath, dependsOn: [...dependsOn] };
  });
  if (count > 2) (dependencies[count - 1] as { dependsOn: string[] }).dependsOn.push((paths[1] as GeneratedPath).drvPath);
  const [root, ...rest] = paths as [GeneratedPath, ...GeneratedPath[]];
  return {
    root,
    paths,
    sbom: {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      version: 1,
      metadata: { component: component(root) },
      components: rest.map(component),
      dependencies,
    },
  };
}
