export * from './recipe.js';
export * from './layout.js';
export { dropBlankImports, findGo, goBuildArgs, goEnv, goModuleDir, sourceTreeKey } from './go.js';
export * from './factory.js';
export * from './kubernetes-release.js';
