export * from './table.js';
export * from './probe.js';
export { type NetcheckCase, NETCHECK_CASES } from './cases.js';
export * from './run.js';
