/** A CycloneDX SBOM (as nix-runtime-tree-to-sbom writes) of `root` depending on `paths`, plus components that are not store paths. */
export function sbomOf(root: string, paths: readonly string[], extraComponents: readonly { ref: string; name: string }[] = []) {
  const components = [
    ...paths.map((path) => ({ 'bom-ref': path, type: 'library', name: path.slice(44), properties: [{ name: 'nix:out_path', value: path }] })),
    ...extraComponents.map(({ ref, name }) => ({ 'bom-ref': ref, type: 'library', name })),
  ];
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { 'bom-ref': root, type: 'application', name: root.slice(44), properties: [{ name: 'nix:out_path', value: root }] } },
    components,
    dependencies: [{ ref: root, dependsOn: [...paths, ...extraComponents.map(({ ref }) => ref)] }],
  };
}
