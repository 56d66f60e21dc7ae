export { main, rootCommand } from './main.js';
export { BUILTIN_ADDONS, BUILTIN_CNI, loadAddons, loadCni, createDriver } from './wiring.js';
export { configTableMarkdown } from './config-table.js';
export { commandReferenceMarkdown } from './command-reference.js';
export { createCluster, type CreateClusterOptions, type ClusterHandle, type DisposeMode } from './create-cluster.js';
