import { defineConfig } from 'tsup';

/** The one build setup of every package: ESM, declarations, source maps, Node 22+. */
export function packageBuild(entry: string[], dtsEntry: string[] = entry) {
  return defineConfig({
    entry,
    format: ['esm'],
    dts: { entry: dtsEntry },
    sourcemap: true,
    clean: true,
    target: 'node22',
  });
}
