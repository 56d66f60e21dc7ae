export * from './recipe.js';
export * from './layout.js';
export { dropBlankImports, findGo, goEnv } from './go.js';
export * from './factory.js';
