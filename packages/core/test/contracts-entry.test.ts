import { describe, expect, it } from 'vitest';
import * as contracts from '../src/contracts/index.js';
import * as core from '../src/index.js';

describe('the entries of @local-cluster/core', () => {
  it('contracts carries the plugin and driver contracts and the errors, the same objects as the main entry, and no engine', () => {
    const names = Object.keys(contracts);
    for (const name of ['CNI_API_VERSION', 'ADDON_API_VERSION', 'DRIVER_API_VERSION', 'LABELS', 'NODE_CONTRACT', 'LocalClusterError', 'isPluginError']) expect(names).toContain(name);
    for (const name of names) expect(contracts[name as keyof typeof contracts], name).toBe(core[name as keyof typeof core]);
    for (const engine of ['up', 'down', 'clean', 'ensureImage', 'loadConfig']) expect(names).not.toContain(engine);
  });

  it('the main entry is an explicit list: none of the internals the lifecycle keeps to itself', () => {
    for (const internal of ['initDocuments', 'joinDocument', 'snapshotRef', 'kwokStages', 'cleanStaleWork']) expect(Object.keys(core)).not.toContain(internal);
  });
});
