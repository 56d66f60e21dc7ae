import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, hollowDeployment, hollowDeploymentPods, kubectlFor, leftovers, readyNodes, toolHome } from './helpers.js';

// Hollow nodes on another cluster (cluster.hollowNodesOn, kubemark's "pre-existing" provider):
// a local cluster EXT with 3 nodes runs the hollow kubelets of SIM (one control plane, no
// workers) as StatefulSet pods; SIM schedules pods onto them. A small count keeps the file
// fast: bench/hollow-nodes-on.mjs runs 100 hollow nodes with 400 pods.
const EXT = `hx-ext-${process.pid}`;
const SIM = `hx-sim-${process.pid}`;
const BAD = `hx-bad-${process.pid}`;
const HOLLOW = 10;
const PODS = 40;
const NAMESPACE = `local-cluster-hollow-${SIM}`;
const SIM_ARGS = ['--name', SIM, '--num-nodes', '0', '--addons', '', '--hollow-nodes', String(HOLLOW), '--hollow-nodes-on', EXT, '--dind-subnet', '10.238.0.0/16'];
const ext = kubectlFor(EXT);
const sim = kubectlFor(SIM);
const EXT_KUBECONFIG = join(toolHome, 'clusters', EXT, 'admin.conf');
const HOLLOW_NAMES = Array.from({ length: HOLLOW }, (_, i) => `hollow-node-${i + 1}`);
const dir = mkdtempSync(join(tmpdir(), 'hollow-on-'));

beforeAll(async () => {
  const r = await cli(['up', '--name', EXT, '--num-nodes', '2', '--addons', '', '--dind-subnet', '10.220.0.0/16']);
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
});

afterAll(async () => {
  await clean({ driver, cluster: SIM }).catch(() => undefined);
  await clean({ driver, cluster: BAD }).catch(() => undefined);
  await clean({ driver, cluster: EXT }).catch(() => undefined);
});

/** What of ours is on EXT: namespaces of hollow nodes, the kubemark image in its nodes, its nodes' attachments to other networks. */
async function oursOnExt(): Promise<string[]> {
  const ns = await ext('get', 'namespaces', '-l', 'local-cluster.dev/hollow-nodes-of', '-o', 'name');
  const found = ns.stdout.split('\n').filter(Boolean);
  for (const node of await driver.listNodes({ cluster: EXT, role: 'node' })) {
    const images = await node.run(['ctr', '-n', 'k8s.io', 'images', 'ls', '-q']);
    found.push(...images.stdout.split('\n').filter((i) => i.includes('kubemark')).map((i) => `${node.hostname}: image ${i}`));
    const links = await node.run(['sh', '-c', 'ip -o -4 addr show | grep -c "10\\.238\\." || true']);
    if (links.stdout.trim() !== '0') found.push(`${node.hostname}: an address on 10.238.0.0/16`);
  }
  return found;
}

/** A kubeconfig for EXT with another user: a bearer token (or none). */
function kubeconfigWithToken(token: string): string {
  const doc = yaml.load(readFileSync(EXT_KUBECONFIG, 'utf8')) as { users: { name: string; user: Record<string, string> }[] };
  doc.users = doc.users.map((u) => ({ name: u.name, user: { token } }));
  const file = join(dir, `kubeconfig-${token.slice(0, 8)}.yaml`);
  writeFileSync(file, yaml.dump(doc));
  return file;
}

const deploymentPods = () => hollowDeploymentPods(sim);

/** Hollow nodes whose Ready condition says True with a heartbeat at or after `since` (ms). */
async function readySince(since: number): Promise<number> {
  const r = await sim('get', 'nodes', '-l', 'local-cluster.dev/hollow-node', '-o', 'json');
  const items = (JSON.parse(r.stdout) as { items: { status: { conditions: { type: string; status: string; lastHeartbeatTime: string }[] } }[] }).items;
  return items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True' && Date.parse(c.lastHeartbeatTime) >= since)).length;
}

describe('hollow nodes on another cluster', () => {
  it('refuses bad input with the reason and leaves nothing on either cluster', async () => {
    const base = ['up', '--name', BAD, '--num-nodes', '0', '--addons', '', '--hollow-nodes', String(HOLLOW), '--dind-subnet', '10.238.0.0/16'];
    const cases: [string[], RegExp][] = [
      [['--hollow-nodes-on', '/nonexistent/kubeconfig'], /cluster\.hollowNodesOn: kubeconfig \/nonexistent\/kubeconfig does not exist/],
      [['--hollow-nodes-on', `hx-nope-${process.pid}`], /cluster\.hollowNodesOn: local cluster "hx-nope-\d+" does not exist/],
      [['--hollow-nodes-on', EXT_KUBECONFIG, '--hollow-nodes-context', 'nope'], /cluster\.hollowNodesContext: context "nope" is not in .*admin\.conf/],
      [['--hollow-nodes-on', kubeconfigWithToken('abcdef.0123456789abcdef')], /cannot list namespaces: .*(Unauthorized|must be logged in)/],
      [['--hollow-nodes-on', BAD], /names this cluster/],
      // a cluster named by a kubeconfig: it must reach the API server, and pull the image from a registry that answers
      [['--hollow-nodes-on', EXT_KUBECONFIG], /the hollow kubelets there reach the API server at cluster\.apiServerAddress, but that is 127\.0\.0\.1, this machine's loopback/],
      [['--hollow-nodes-on', EXT_KUBECONFIG, '--apiserver-address', '10.220.0.1'], /that cluster pulls the kubemark image, and no registry to push it to is named/],
      [['--hollow-nodes-on', EXT_KUBECONFIG, '--apiserver-address', '10.220.0.1', '--hollow-nodes-registry', 'localhost:1'], /cluster\.hollowNodesRegistry localhost:1: http:\/\/localhost:1\/v2\/ did not answer/],
      [['--hollow-nodes-on', EXT, '--hollow-nodes-registry', 'localhost:5001'], /cluster\.hollowNodesRegistry .* is a local cluster \(the image is loaded into its nodes\)/],
    ];
    // a ServiceAccount that may list namespaces but not create them
    const rbac = [
      'kubectl create serviceaccount -n default hx-reader',
      'kubectl create clusterrole hx-reader --verb=get,list --resource=namespaces,nodes,pods',
      'kubectl create clusterrolebinding hx-reader --clusterrole=hx-reader --serviceaccount=default:hx-reader',
    ];
    for (const c of rbac) expect((await ext(...c.split(' ').slice(1))).code).toBe(0);
    const token = (await ext('create', 'token', '-n', 'default', 'hx-reader')).stdout.trim();
    cases.push([['--hollow-nodes-on', kubeconfigWithToken(token)], /no permission to create namespaces/]);
    // more than EXT's two schedulable workers hold (10m CPU per hollow kubelet: 1000 ask 10 cores)
    cases.push([['--hollow-nodes-on', EXT, '--hollow-nodes', '1000'], /1000 hollow nodes need 40 pod\(s\) .* but the 2 schedulable node\(s\) have room for \d+/]);
    for (const [args, message] of cases) {
      const r = await cli([...base, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(await leftovers(BAD)).toEqual([]);
    }
    expect(await oursOnExt()).toEqual([]);
    await ext('delete', 'clusterrolebinding,clusterrole', 'hx-reader');
    await ext('delete', 'serviceaccount', '-n', 'default', 'hx-reader');
  });

  it(`${HOLLOW} hollow nodes run as pods on the other cluster, hold ${PODS} pods, come back after a pod is deleted and after down and up, and clean leaves nothing there`, async () => {
    const r = await cli(['up', ...SIM_ARGS]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(readyNodes((await sim('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', ...HOLLOW_NAMES].sort());
    // the hollow kubelets are pods on EXT's nodes, not containers of SIM
    expect(await driver.listNodes({ cluster: SIM, role: 'hollow-nodes' })).toEqual([]);
    const pods = await ext('get', 'pods', '-n', NAMESPACE, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName}{"\\n"}{end}');
    const rows = pods.stdout.trim().split('\n').map((l) => l.split(' '));
    expect(rows.map(([name, phase]) => `${name} ${phase}`)).toEqual(['hollow-nodes-0 Running']);
    expect(['kube-node-1', 'kube-node-2']).toContain(rows[0]![2]);
    const status = await cli(['status', '--name', SIM]);
    expect(status.stdout).toMatch(new RegExp(`hollow nodes: ${HOLLOW} of ${HOLLOW} Ready`));
    expect(status.stdout).toMatch(new RegExp(`hollow nodes run on cluster "${EXT}", namespace ${NAMESPACE}: 1 of 1 pods Running on kube-node-`));

    const file = join(dir, 'deployment.json');
    writeFileSync(file, hollowDeployment(PODS));
    expect((await sim('apply', '-f', file)).code).toBe(0);
    let state = await deploymentPods();
    await waitFor(`${PODS} pods Running on hollow nodes`, async () => ((state = await deploymentPods()).running === PODS ? true : undefined), { timeoutMs: 300_000, intervalMs: 3000 });
    expect([...state.nodes].every((n) => n.startsWith('hollow-node-'))).toBe(true);

    // Kubernetes makes a deleted pod again; its hollow kubelets bootstrap again (a new CSR each) and report Ready
    const csrs = async () => (await sim('get', 'csr', '-o', 'jsonpath={range .items[*]}{.spec.username}{"\\n"}{end}')).stdout.split('\n').filter((u) => u === 'system:bootstrap:hollow').length;
    expect(await csrs()).toBe(HOLLOW);
    const deleted = Date.now();
    expect((await ext('delete', 'pod', '-n', NAMESPACE, 'hollow-nodes-0')).code).toBe(0);
    await waitFor('the hollow kubelets bootstrapped again', async () => ((await csrs()) === 2 * HOLLOW ? true : undefined), { timeoutMs: 180_000, intervalMs: 2000 });
    await waitFor('every hollow node Ready with a heartbeat after the delete', async () => ((await readySince(deleted)) === HOLLOW ? true : undefined), { timeoutMs: 180_000, intervalMs: 2000 });
    await waitFor(`the ${PODS} pods Running`, async () => ((state = await deploymentPods()).running === PODS ? true : undefined), { timeoutMs: 180_000, intervalMs: 3000 });

    // down removes the pods there; up makes them again
    expect((await cli(['down', '--name', SIM])).code).toBe(0);
    expect((await ext('get', 'namespaces', '-l', 'local-cluster.dev/hollow-nodes-of', '-o', 'name')).stdout.trim()).toBe('');
    const again = await cli(['up', ...SIM_ARGS]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(again.stdout).toMatch(/restored from its snapshot/);
    expect((await ext('get', 'pods', '-n', NAMESPACE, '-o', 'jsonpath={.items[*].status.phase}')).stdout).toBe('Running');
    await waitFor(`the ${PODS} pods Running again`, async () => ((state = await deploymentPods()).running === PODS ? true : undefined), { timeoutMs: 180_000, intervalMs: 3000 });

    // EXT gone while SIM runs: status says so
    const extMaster = (await driver.listNodes({ cluster: EXT, role: 'node' })).find((n) => n.hostname === 'kube-master')!;
    await extMaster.stop();
    const gone = await cli(['status', '--name', SIM]);
    expect(gone.stdout).toMatch(new RegExp(`hollow nodes run on cluster "${EXT}".*PROBLEM: cannot reach it: .*not running`));
    await extMaster.start();
    await waitFor(`${EXT} answers again`, async () => ((await ext('get', '--raw', '/readyz')).stdout.trim() === 'ok' ? true : undefined), { timeoutMs: 180_000, intervalMs: 2000 });

    const cleaned = await cli(['clean', '--name', SIM]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await leftovers(SIM)).toEqual([]);
    expect(await oursOnExt()).toEqual([]);
  });
});
