/**
 * `npm test`: everything CI checks, in order — system packages, lint, types,
 * builds, then every workspace's tests against one real store.
 * `npm test -- FILE...` runs just those test files against a store, for work
 * on one part.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEmbeddedStoreBinary } from '../server/src/store/embeddedStore.ts';
import { run, step } from './run.ts';
import { findFiles, WORKSPACES } from './testFiles.ts';
import { withTestStore } from './withTestStore.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);

const chosenFiles = process.argv.slice(2).map((file) => path.resolve(process.env.INIT_CWD ?? root, file));
if (chosenFiles.length === 0) {
  await step('system packages', 'bash', ['scripts/ensure-system-packages.sh']);
  await step('lint', 'npx', ['eslint', '.']);
  await step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  await step('workspace checks and builds', 'npm', ['run', '--workspaces', '--if-present', 'build']);
}
if (!process.env.MONGODB_URI) {
  console.log('\n== embedded store');
  ensureEmbeddedStoreBinary();
}

const files = chosenFiles.length > 0 ? chosenFiles : WORKSPACES.flatMap((workspace) => findFiles(path.join(root, workspace, 'test'), '.test.ts'));
// Every test file gets the store as MONGODB_URI; LILAC_TEST_STORE says whether it is really MongoDB, so that the tests
// of start-up and restarts run the embedded default on a data directory of their own, as `npm start` does.
const code = await withTestStore((uri, kind) =>
  run('node', ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { ...process.env, MONGODB_URI: uri, LILAC_TEST_STORE: kind }),
);
process.exit(code);
