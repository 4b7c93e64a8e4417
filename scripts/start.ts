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
