import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, beforeEach, inject } from 'vitest';
import { clusterContainers, exportLogs, withWaitingLock } from '@local-cluster/core';
import { cli, driver, kubectlFor, ROOT } from './helpers.js';

// Clusters shared by the files of one cluster test run that only look at a cluster (they add namespaces,
// workloads or an addon, and remove what they made): the first file that asks for one brings it
// up, the others wait for it and use it, and the run's global setup (global-setup.ts) removes it
// at the end. A file that changes a cluster's shape, breaks it, restarts the engine or times
// `up` brings up its own. A test that fails in a shared cluster names itself and leaves that
// cluster's logs under tests/clusters/artifacts/shared/.

/** The kinds of shared cluster: what `up` is given for each. */
export const SHARED_CLUSTERS = {
  /** 1 control plane + 2 workers, bridge CNI, kube-proxy iptables, no addons. */
  bridge: { nodes: 3, args: ['--num-nodes', '2', '--addons', '', '--dind-subnet', '10.218.0.0/16'] },
} as const;
export type SharedKind = keyof typeof SHARED_CLUSTERS;

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by global-setup.ts: names this run's shared clusters. */
    sharedRun: string;
  }
}

/** The name of this run's shared cluster of a kind. */
export function sharedClusterName(kind: SharedKind, run: string): string {
  return `shared-${kind}-${run}`;
}

export const ARTIFACTS = join(ROOT, 'tests', 'clusters', 'artifacts', 'shared');

async function isUp(name: string, nodes: number): Promise<boolean> {
  const found = await driver.listNodes({ cluster: name, role: 'node' });
  if (found.length !== nodes) return false;
  return (await Promise.all(found.map((n) => n.state()))).every((s) => s === 'running');
}

/**
 * This run's shared cluster of a kind, for the tests of the calling file: brought up before its
 * first test (or found up, brought up by another file), and, when one of its tests fails, its
 * logs exported and the test named. Call at the top level of a test file.
 */
export function sharedCluster(kind: SharedKind): { name: string; kubectl: ReturnType<typeof kubectlFor> } {
  const name = sharedClusterName(kind, inject('sharedRun'));
  const { nodes, args } = SHARED_CLUSTERS[kind];

  beforeAll(async () => {
    const signal = AbortSignal.timeout(900_000);
    await withWaitingLock(join(tmpdir(), `local-cluster-tests-${name}.lock`), `bring up the shared cluster ${name}`, {
      signal,
      onWait: (holder) => console.log(`[shared ${name}] waiting for pid ${holder.pid} to bring it up`),
    }, async () => {
      if (await isUp(name, nodes)) return;
      // a half-made one (a file killed mid-up) goes first
      if ((await clusterContainers(driver, name)).length) await cli(['clean', '--name', name]);
      const started = performance.now();
      const r = await cli(['up', '--name', name, ...args]);
      if (r.code !== 0) throw new Error(`the shared cluster ${name} did not come up (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
      console.log(`[shared ${name}] up in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    });
  });

  beforeEach(({ onTestFailed }) => {
    onTestFailed(async ({ task }) => {
      const file = relative(ROOT, task.file.filepath).replace(/[^A-Za-z0-9.-]+/g, '_');
      const test = task.name.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 80);
      const dir = join(ARTIFACTS, name, `${file}--${test}`);
      mkdirSync(dir, { recursive: true });
      const exported = await exportLogs({ driver, cluster: name, dir }).then(
        (r) => `${r.files.length} file(s) in ${dir}`,
        (e: Error) => `exporting them failed: ${e.message}`,
      );
      console.error(`[shared ${name}] "${task.name}" (${relative(ROOT, task.file.filepath)}) failed in the shared cluster ${name}; its logs: ${exported}`);
    });
  });

  return { name, kubectl: kubectlFor(name) };
}
