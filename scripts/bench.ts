/** `npm run bench`: every workspace's benchmarks, one after another, against one real store; each prints its figures. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, step } from './run.ts';
import { findFiles, WORKSPACES } from './testFiles.ts';
import { withTestStore } from './withTestStore.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const only = process.argv.slice(2);
const files = WORKSPACES.flatMap((workspace) => findFiles(path.join(root, workspace, 'bench'), '.bench.ts')).filter(
  // Matched against the path inside the repository: a checkout's own folder name must not select every bench.
  (file) => only.length === 0 || only.some((name) => path.relative(root, file).includes(name)),
);

// The hook's benches build with real Nix and the monitor's drives Chromium, as the tests do: a fresh machine gets them here
// too. The server's need neither, and still run where the packages cannot be installed (not root, not Debian).
if (files.some((file) => /^(hook|e2e)\//.test(path.relative(root, file)))) {
  await step('system packages', 'bash', ['scripts/ensure-system-packages.sh']);
}
let failed = 0;
await withTestStore(async (uri) => {
  for (const file of files) {
    console.log(`\n== ${path.relative(root, file)}`);
    if ((await run('node', ['--import', 'tsx', file], { ...process.env, MONGODB_URI: uri })) !== 0) failed += 1;
  }
});
process.exit(failed === 0 ? 0 : 1);
