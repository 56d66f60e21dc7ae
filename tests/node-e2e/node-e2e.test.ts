import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean } from '@local-cluster/core';
import { NODE_E2E_SKIPS, type NodeE2eReport } from '@local-cluster/verify';
import { bringUp, cli, driver, leftovers } from '../clusters/helpers.js';

// Kubernetes' node e2e suite (e2e_node.test of the cluster's version, built from the
// module proxy) in kubelet mode: its own API server and a kubelet of the cluster's node
// image, in a container of their own, with the tests' images built offline.
const NAME = `ne-test-${process.pid}`;
const SUBNET = process.env.LOCAL_CLUSTER_NODE_E2E_SUBNET ?? '10.245.0.0/16';

/** Five quick [NodeConformance] tests; one expects a pull from an invalid registry to fail. */
const FOCUSED = [
  '[sig-node] Container Runtime blackbox test when running a container with a new image should not be able to pull image from invalid registry [NodeConformance]',
  '[sig-node] Containers should use the image defaults if command and args are blank [NodeConformance] [Conformance]',
  '[sig-node] Downward API should provide pod name, namespace and IP address as env vars [NodeConformance] [Conformance]',
  '[sig-node] Kubelet when scheduling a busybox command in a pod should print the output to logs [NodeConformance] [Conformance]',
  '[sig-node] Pods should get a host IP [NodeConformance] [Conformance]',
];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

const nodeE2eContainers = async () => (await driver.listNodes({ cluster: NAME, role: 'node-e2e' })).map((n) => n.name);

describe('local-cluster e2e-node: the node e2e suite in kubelet mode', () => {
  it('refuses to run without a cluster, naming `up`', async () => {
    const r = await cli(['e2e-node', '--name', NAME]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cluster "${NAME}" is not up`);
    expect(r.stderr).toContain(`local-cluster up --name ${NAME}`);
  });

  it('lists the [NodeConformance] tests without running anything, and what it leaves out', async () => {
    await bringUp({ cluster: { name: NAME, numNodes: 0 }, dind: { subnet: SUBNET } });
    const r = await cli(['e2e-node', '--list', '--name', NAME]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const m = /(\d+) test\(s\) of Kubernetes (v[\d.]+)'s node e2e suite selected \(labels "NodeConformance && !Serial && !Flaky && !Slow"\)/.exec(r.stdout);
    expect(m, r.stdout.slice(-2000)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(150);
    for (const name of FOCUSED) expect(r.stdout).toContain(`${name}\n`);
    expect(r.stdout).toContain('Left out (this machine cannot give them what they need; --no-default-skips runs them):');
    expect(await nodeE2eContainers()).toEqual([]);
  });

  it('runs five focused tests against a kubelet of the node image: all pass, JSON and JUnit reports, the container is gone after', async () => {
    const junit = mkdtempSync(join(tmpdir(), 'lc-node-junit-'));
    const r = await cli(['e2e-node', '--name', NAME, '--json', '--junit', junit, '--focus-regex', FOCUSED.map(escape).join('|')]);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const report = JSON.parse(r.stdout) as NodeE2eReport;
    expect(report).toMatchObject({ cluster: NAME, selected: 5, passed: 5, failed: 0, skipped: 0, leftOut: [] });
    expect(report.specs.map((s) => s.name).sort()).toEqual(FOCUSED);
    expect(readFileSync(join(junit, 'junit_node_e2e.xml'), 'utf8')).toContain('should get a host IP');
    expect(existsSync(report.log)).toBe(true);
    // the suite's kubelet wrote its log into the report
    expect(readFileSync(report.log, 'utf8')).toContain('Ran 5 of');
    // live progress: one event per finished test
    expect(r.stderr.split('\n').filter((l) => l.includes('"type":"test-end"'))).toHaveLength(5);
    expect(await nodeE2eContainers()).toEqual([]);
  });

  it('a focus that matches nothing, a bad regex and a left-out test fail with clear messages', async () => {
    const none = await cli(['e2e-node', 'no test is called like this', '--name', NAME]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/No test of Kubernetes v[\d.]+'s node e2e suite is matching "no test is called like this"/);
    const bad = await cli(['e2e-node', '--focus-regex', '(unclosed', '--name', NAME]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/test filters were refused/);
    const leftOut = await cli(['e2e-node', '--focus-regex', NODE_E2E_SKIPS[0]!.pattern, '--name', NAME]);
    expect(leftOut.code).not.toBe(0);
    expect(leftOut.stderr).toContain('is one this machine cannot run');
    expect(leftOut.stderr).toContain('--no-default-skips');
  });

  it('clean leaves nothing behind', async () => {
    expect((await cli(['clean', '--name', NAME])).code).toBe(0);
    expect(await leftovers(NAME)).toEqual([]);
  });
});
