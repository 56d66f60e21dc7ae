export * from './binaries.js';
export * from './images.js';
export * from './manifest.js';
export * from './report.js';
export * from './run.js';
export * from './suite.js';
export * from './node-e2e.js';
export * from './gateway.js';
