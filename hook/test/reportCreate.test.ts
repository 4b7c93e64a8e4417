import assert from 'node:assert/strict';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ReportDetail, ReportSummary } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { buildBundle, builderMachine, LILAC_BIN, type BuilderMachine } from './support/builderSetup.ts';
import { nix, nixBuild, nixEnv, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';

let server: TestServer;
let alice: BuilderMachine;
/** A derivation with two outputs whose `out` refers to a dependency at run time. */
let file: string;

before(async () => {
  buildBundle();
  server = await startTestServer();
  alice = builderMachine(await server.createBuilder('alice'), server.url);
  file = path.join(tempDir('report'), 'app.nix');
  const marker = nonce();
  writeFileSync(
    file,
    `let lib = builtins.derivation { system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo lib ${marker} > $out" ]; name = "lilac-report-lib"; };
in builtins.derivation { system = builtins.currentSystem; builder = "/bin/sh"; outputs = [ "out" "doc" ]; args = [ "-c" "echo \${lib} > $out; echo doc > $doc" ]; name = "lilac-report-app"; }
`,
  );
});
after(() => server.close());

const lines = (text: string) => text.split('\n').filter((line) => line !== '');
const lilac = (args: string[], env: NodeJS.ProcessEnv = alice.env) => run(LILAC_BIN, args, { ...env, NIX_CONFIG: nixEnv().NIX_CONFIG });

interface Sbom {
  metadata: { component: { 'bom-ref': string; properties: { name: string; value: string }[] } };
  components: { 'bom-ref': string; properties: { name: string; value: string }[] }[];
  dependencies: { ref: string; dependsOn: string[] }[];
}
const property = (component: { properties: { name: string; value: string }[] }, name: string) => component.properties.find((entry) => entry.name === name)?.value;

test('report create --runtime uploads exactly the paths of nix-store -qR, each with its derivation', async () => {
  const built = await nixBuild(file, []);
  assert.equal(built.status, 0, built.log);
  const outPath = lines(built.outPath).find((line) => !line.endsWith('-doc'))!;
  const requisites = lines(nix(['nix-store', '-qR', outPath]));
  assert.equal(requisites.length, 2);

  const created = await lilac(['report', 'create', 'app-runtime', '--runtime', outPath, '--attr', 'app']);
  assert.equal(created.status, 0, created.stderr);
  const summary = (await (await server.request('/reports/app-runtime', { headers: { accept: 'application/json' } })).json()) as ReportSummary;
  assert.equal(summary.total, requisites.length);
  const detail = (await (await server.request('/api/v1/reports/app-runtime')).json()) as ReportDetail;
  assert.deepEqual(detail.tree.nodes.map((node) => node.outPath).sort(), [...requisites].sort());
  assert.equal(detail.tree.nodes[detail.root]?.outPath, outPath);
  assert.equal(detail.attrPath, 'app');

  const sbom = (await (await server.request('/reports/app-runtime', { headers: { accept: 'application/vnd.cyclonedx+json' } })).json()) as Sbom;
  for (const component of [sbom.metadata.component, ...sbom.components]) {
    const deriver = nix(['nix-store', '-q', '--deriver', component['bom-ref']]).trim();
    assert.equal(property(component, 'nix:drv_path'), deriver);
    assert.equal(property(component, 'nix:out_path'), component['bom-ref']);
    assert.equal(property(component, 'nix:output'), 'out');
  }
  const edges = sbom.dependencies.find((dependency) => dependency.ref === outPath)?.dependsOn;
  assert.deepEqual(edges, lines(nix(['nix-store', '-q', '--references', outPath])).filter((reference) => reference !== outPath));
});

test('report create --build-closure lists the outputs of every derivation in the closure', async () => {
  const drvPath = nix(['nix-instantiate', file]).trim();
  const derivations = lines(nix(['nix-store', '-qR', drvPath])).filter((line) => line.endsWith('.drv'));
  const outputs = derivations.flatMap((drv) => lines(nix(['nix-store', '-q', '--outputs', drv])));
  assert.equal(outputs.length, 3, 'app has out and doc, lib has out');

  const sbomFile = path.join(tempDir('sbom'), 'build.cdx.json');
  const written = await lilac(['report', 'create', 'app-build', '--build-closure', drvPath, '--output', sbomFile], { ...process.env, LILAC_ENV_FILE: '' });
  assert.equal(written.status, 0, written.stderr);
  const sbom = JSON.parse(readFileSync(sbomFile, 'utf8')) as Sbom;
  assert.equal(sbom.metadata.component['bom-ref'], drvPath);
  assert.deepEqual(sbom.components.map((component) => property(component, 'nix:out_path')).sort(), [...outputs].sort());
  for (const component of sbom.components) {
    assert.ok(derivations.includes(property(component, 'nix:drv_path')!));
    assert.ok(lines(nix(['nix-store', '-q', '--outputs', property(component, 'nix:drv_path')!])).includes(component['bom-ref']));
  }
  const app = sbom.components.find((component) => component['bom-ref'].endsWith('-lilac-report-app'))!;
  const lib = sbom.components.find((component) => component['bom-ref'].endsWith('-lilac-report-lib'))!;
  assert.deepEqual(sbom.dependencies.find((dependency) => dependency.ref === app['bom-ref'])?.dependsOn, [lib['bom-ref']]);

  // The server takes what was written, as it takes lila's tools' SBOMs.
  const uploaded = await server.request('/reports/app-build', { method: 'PUT', token: (await server.createBuilder('bob')).token, body: readFileSync(sbomFile), headers: { 'content-type': 'application/json' } });
  assert.equal(uploaded.status, 201, await uploaded.text());
});

test('a ./result link names its store path, and --output - writes the SBOM to stdout', async () => {
  const link = path.join(tempDir('result'), 'result');
  const built = await nixBuild(file, [], ['-o', link]);
  assert.equal(built.status, 0, built.log);
  const written = await lilac(['report', 'create', 'linked', '--runtime', link, '--output', '-'], { ...process.env, LILAC_ENV_FILE: '' });
  assert.equal(written.status, 0, written.stderr);
  const sbom = JSON.parse(written.stdout) as Sbom;
  assert.equal(sbom.metadata.component['bom-ref'], realpathSync(link));
  assert.equal(sbom.components.length + 1, lines(nix(['nix-store', '-qR', link])).length);
});

test('a path not in the store is refused with Nix\'s own message, and nothing is uploaded', async () => {
  const missing = '/nix/store/00000000000000000000000000000000-lilac-not-there';
  const result = await lilac(['report', 'create', 'missing', '--runtime', missing]);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /path '\/nix\/store\/00000000000000000000000000000000-lilac-not-there' is not valid/);
  assert.equal((await server.request('/reports/missing', { headers: { accept: 'application/json' } })).status, 404);
});

test('without a server configured it says so and fails', async () => {
  const result = await lilac(['report', 'create', 'nowhere', '--runtime', '/nix/store/00000000000000000000000000000000-x'], { ...process.env, LILAC_ENV_FILE: '' });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /no server configured/);
});
