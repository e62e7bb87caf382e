// Bundles the gateway into one ESM file for the container: `node app/dist/server.mjs`.
import { build } from 'esbuild';

await build({
  entryPoints: ['app/src/server.ts'],
  outfile: 'app/dist/server.mjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  minifySyntax: true,
  // CommonJS dependencies bundled into ESM still call require(); give them one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
