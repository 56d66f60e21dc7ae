// Bundles the dashboard's server (with undici) and its page (with Preact and htm) into
// dist/dashboard-app/: server.mjs, app.js, index.html, the files of the dashboard image.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const out = 'dist/dashboard-app';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['src/dashboard/server.ts'],
  outfile: `${out}/server.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  legalComments: 'linked',
  // undici's CommonJS parts call require()
  banner: { js: "import { createRequire as __lcRequire } from 'node:module'; const require = __lcRequire(import.meta.url);" },
  logLevel: 'warning',
});
await build({
  entryPoints: ['src/dashboard/app.ts'],
  outfile: `${out}/app.js`,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync('src/dashboard/index.html', `${out}/index.html`);
