// @local-cluster/verify: checks of a running cluster. Core never imports this package.
export * from './conformance/index.js';
// the reachability engine: what netcheck and the quick checks probe and judge with
export {
  AGNHOST_TOOLS,
  agnhostServer,
  batchScript,
  BUSYBOX_TOOLS,
  type CellSpec,
  deployFixture,
  describeMismatch,
  type Fixture,
  hostProbe,
  judge,
  kubectlExec,
  mismatches,
  type NetcheckCell,
  type NetcheckTable,
  parseBatch,
  type PodExec,
  type PodSource,
  type Probe,
  type ProbeResult,
  type ProbeTools,
  removeFixture,
  renderGrid,
  renderTable,
  runTable,
  type RunTableOptions,
  type Server,
  type ServerImage,
  type ServerPodOptions,
  type Source,
  tableMatches,
  tableProber,
  type TableSpec,
  toolboxServer,
} from './reachability/index.js';
export * from './netcheck/index.js';
export * from './quick-checks/quick-checks.js';
export * from './quick-checks/policy-checks.js';
export * from './quick-checks/pod-network.js';
