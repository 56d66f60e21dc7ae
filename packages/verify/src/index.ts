// @local-cluster/verify: checks of a running cluster. Core never imports this package.
export * from './conformance/index.js';
export * from './netcheck/index.js';
export * from './quick-checks/quick-checks.js';
export * from './quick-checks/policy-checks.js';
export * from './network-checks.js';
