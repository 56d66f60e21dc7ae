export { type NetcheckCase, NETCHECK_CASES } from './cases.js';
export * from './run.js';
