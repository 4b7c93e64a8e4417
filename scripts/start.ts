/** `npm start`: builds what is missing (the web app; the embedded store builds itself), then runs the server. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './run.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);

if (!existsSync('web/dist/index.html') && existsSync('web/vite.config.ts')) {
  console.error('building the web app (first start only)');
  if ((await run('npm', ['run', 'build', '-w', 'web'])) !== 0) process.exit(1);
}
await import('../server/src/main.ts');

// `npm start` exits on SIGTERM without passing it on (npm 11), which left the server running
// under init with its store. A server started by npm follows npm: when npm is gone, it shuts
// down as SIGTERM would make it. Started any other way (systemd, a container) it stays put.
if (process.env.npm_lifecycle_event === 'start') {
  const npm = process.ppid;
  setInterval(() => {
    if (process.ppid !== npm) process.kill(process.pid, 'SIGTERM');
  }, 1000).unref();
}
