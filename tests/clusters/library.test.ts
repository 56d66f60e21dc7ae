import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean, isConfigError } from '@local-cluster/core';
import { createCluster } from 'local-cluster';
import { driver, leftovers, ROOT, testHome, toolHome } from './helpers.js';

// The library entry a test harness uses: `await using cluster = await createCluster(...)`.
const NAME = `lib-${process.pid}`;
const SUBNET = '10.204.0.0/16';
const base = { cluster: { name: NAME, numNodes: 0, addons: [] as string[] }, dind: { subnet: SUBNET }, home: toolHome };

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

async function rejection(promise: Promise<unknown>): Promise<Error & { setting?: string }> {
  return promise.then(
    () => {
      throw new Error('expected createCluster to fail');
    },
    (e: Error & { setting?: string }) => e,
  );
}

describe('createCluster', () => {
  it('refuses wrong option types, unknown options and unknown plugin names, naming the option, before anything is made', async () => {
    const wrongType = await rejection(createCluster({ ...base, cluster: { ...base.cluster, numNodes: 'two' as unknown as number } }));
    expect(isConfigError(wrongType)).toBe(true);
    expect(wrongType.message).toMatch(/Invalid value "two" for cluster\.numNodes \(from options passed to the library\)/);
    const unknown = await rejection(createCluster({ ...base, cluster: { ...base.cluster, numNode: 1 } as never }));
    expect(unknown.message).toMatch(/Unknown setting "cluster\.numNode" in the options passed to the library\. Did you mean "cluster\.numNodes"\?/);
    const unknownTop = await rejection(createCluster({ ...base, reuses: true } as never));
    expect(unknownTop.message).toMatch(/Unknown setting "reuses".*Did you mean "reuse"\?/);
    const plugin = await rejection(createCluster({ ...base, cluster: { ...base.cluster, cniPlugin: 'no-such-cni' } }));
    expect(plugin.message).toContain('no-such-cni');
    expect(plugin.setting).toBe('cluster.cniPlugin');
    const mode = await rejection(createCluster({ ...base, onDispose: 'later' as never }));
    expect(mode.message).toMatch(/onDispose/);
    expect(await leftovers(NAME)).toEqual([]);
  });

  it('`await using` gives a working cluster (kubectl, exec, logs) and leaves no Docker object behind at scope exit', async () => {
    {
      await using cluster = await createCluster(base);
      expect(cluster.name).toBe(NAME);
      expect(cluster.kubeconfig).toContain(cluster.server);
      const nodes = JSON.parse(await cluster.kubectl(['get', 'nodes', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
      expect(nodes.items.map((n) => n.metadata.name)).toEqual(['kube-master']);
      expect((await cluster.exec('kube-master', ['hostname'])).stdout.trim()).toBe('kube-master');
      const pod = (await cluster.kubectl(['-n', 'kube-system', 'get', 'pods', '-l', 'component=kube-apiserver', '-o', 'name'])).trim().split('/')[1]!;
      expect(await cluster.logs('kube-system', pod)).toMatch(/\S/);
      const api = await cluster.api();
      expect((await api.core.listNode()).items.map((n) => n.metadata?.name)).toEqual(['kube-master']);
      // the Service truth tables from the handle: a pod reaches itself through its own Service
      const net = await cluster.netcheck(['hairpin']);
      expect(net).toMatchObject({ passed: 1, failed: 0, nodes: ['kube-master'] });
      await expect(cluster.netcheck(['nope'])).rejects.toThrow('Unknown netcheck case: nope');
      expect(await leftovers(NAME)).not.toEqual([]);
    }
    expect(await leftovers(NAME)).toEqual([]);
  });

  it('removes the cluster when the scope throws', async () => {
    const thrown = await (async () => {
      await using cluster = await createCluster(base);
      await cluster.kubectl(['get', 'nodes']);
      throw new Error('the test failed');
    })().catch((e: Error) => e);
    expect(thrown.message).toBe('the test failed');
    expect(await leftovers(NAME)).toEqual([]);
  });

  it("onDispose 'down' keeps the snapshot: the next createCluster restores it; reuse attaches to a running cluster and leaves it", async () => {
    const first = await createCluster({ ...base, onDispose: 'down' });
    await first.kubectl(['create', 'configmap', 'kept', '--from-literal=a=b']);
    await first.dispose();
    const second = await createCluster({ ...base, onDispose: 'keep' });
    expect(second.restored).toBe(true);
    expect(await second.kubectl(['get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}'])).toBe('b');
    await second.dispose();
    const started = performance.now();
    const third = await createCluster({ ...base, reuse: true });
    const reuseMs = performance.now() - started;
    expect(third.reused).toBe(true);
    console.log(`reuse of a running cluster: ${Math.round(reuseMs)} ms`);
    await third.dispose();
    expect((await driver.listNodes({ cluster: NAME, role: 'node' })).length).toBe(1);
    await clean({ driver, cluster: NAME });
    expect(await leftovers(NAME)).toEqual([]);
  });

  it('removes the cluster when the process is interrupted (SIGINT) while the handle is live', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-lib-'));
    const script = join(dir, 'harness.mjs');
    writeFileSync(
      script,
      `import { createCluster } from ${JSON.stringify(join(ROOT, 'packages/cli/dist/index.js'))};
const cluster = await createCluster(${JSON.stringify(base)});
console.log('READY ' + cluster.name);
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { env: { ...process.env, HOME: testHome }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('READY')) resolve();
      });
      child.once('close', (code) => reject(new Error(`harness exited ${code}: ${err.slice(-2000)}`)));
    });
    expect((await driver.listNodes({ cluster: NAME, role: 'node' })).length).toBe(1);
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
    child.kill('SIGINT');
    expect(await exit).toBe('SIGINT');
    expect(await leftovers(NAME)).toEqual([]);
  });
});
