import { describe, expect, it, afterAll } from 'vitest';
import { clean, DEFAULT_KUBERNETES_VERSION, type Cluster, type Kubectl } from '@local-cluster/core';
import { deployNetworkProbe, describeFailures, podToPodTable, removeNetworkProbe, serviceTable } from '@local-cluster/verify';
import { TOOLBOX_IMAGE } from '@local-cluster/images';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bringUp, cli, driver, hostKubectl, kubectlFor, leftovers, readyNodes, run, testHome, toolHome } from './helpers.js';
import { mismatches, report } from './netcheck-helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const A = `e2e-a-${process.pid}`;
const B = `e2e-b-${process.pid}`;
// a subnet of its own, so the file runs beside others (daily.test.ts checks the default subnet)
const SUBNET = '10.193.0.0/16';



afterAll(async () => {
  await clean({ driver, cluster: A }).catch(() => undefined);
  await clean({ driver, cluster: B }).catch(() => undefined);
});

describe('a default cluster with the bridge CNI', () => {
  let cluster: Cluster;
  const kubectl: Kubectl = (args, stdin) => cluster.kubectl(args, stdin === undefined ? {} : { stdin });

  it('comes up with a control plane and two workers, all Ready through the API', async () => {
    cluster = await bringUp({ cluster: { name: A, numNodes: 2 }, dind: { subnet: SUBNET } });
    expect(readyNodes(await kubectl(['get', 'nodes', '-o', 'json']))).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
  });

  it('runs the pinned Kubernetes version, whose binaries know it, from images preloaded under the names kubeadm computes', async () => {
    const master = cluster.nodes.find((n) => n.hostname === 'kube-master')!;
    expect((await master.exec(['kubeadm', 'version', '-o', 'short'])).stdout.trim()).toBe(DEFAULT_KUBERNETES_VERSION);
    expect((await master.exec(['kubectl', 'version', '--client'])).stdout).toContain(`Client Version: ${DEFAULT_KUBERNETES_VERSION}`);
    const kubelets = await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}']);
    expect(kubelets.trim().split(' ')).toEqual([DEFAULT_KUBERNETES_VERSION, DEFAULT_KUBERNETES_VERSION, DEFAULT_KUBERNETES_VERSION]);
    const expected = (await master.exec(['kubeadm', 'config', 'images', 'list', '--kubernetes-version', DEFAULT_KUBERNETES_VERSION])).stdout.trim().split('\n');
    const present = (await master.exec(['ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])).stdout;
    for (const image of expected) expect(present).toContain(image);
    const etcd = expected.find((i) => i.includes('/etcd:'))!;
    expect(etcd).toMatch(/etcd:3\.(5\.(1[1-9]|[2-9]\d)|[6-9]\.\d+)/);
  });

  it('nodes resolve each other by name on the cluster network', async () => {
    const worker = cluster.nodes.find((n) => n.hostname === 'kube-node-1')!;
    const master = cluster.nodes.find((n) => n.hostname === 'kube-master')!;
    const resolved = (await worker.exec(['getent', 'hosts', 'kube-master'])).stdout;
    expect(resolved.split(/\s+/)[0]).toBe(await master.ip());
  });

  it('runs CoreDNS', async () => {
    const ready = await kubectl(['-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.status.readyReplicas}']);
    expect(Number(ready)).toBeGreaterThan(0);
  });

  it("a privileged pod gets its node's capability set and no more: it cannot set the host's clock, and has no module loading or raw I/O", async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'caps', namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        nodeName: 'kube-node-1',
        containers: [
          {
            name: 'caps',
            image: TOOLBOX_IMAGE,
            imagePullPolicy: 'Never',
            securityContext: { privileged: true },
            // it tries to set the clock to what it is already (were it allowed, nothing would move);
            // busybox's date exits 0 when settimeofday is refused: its message tells; the host has no
            // dummy links, so a bridge stands for what NET_ADMIN allows; the script always exits 0
            command: ['sh', '-c', 'grep CapBnd /proc/self/status; case "$(date -s "@$(date +%s)" 2>&1)" in *"not permitted"*) echo clock=refused ;; *) echo clock=set ;; esac; ip link add caps0 type bridge && echo link=added && ip link del caps0; true'],
          },
        ],
      },
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    try {
      await kubectl(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/caps', '--timeout=120s']);
      const out = await kubectl(['logs', 'caps']);
      const bounding = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(out)![1]}`);
      const has = (bit: number) => ((bounding >> BigInt(bit)) & 1n) === 1n;
      // linux/capability.h: NET_ADMIN 12, SYS_ADMIN 21, SYS_MODULE 16, SYS_RAWIO 17, SYS_TIME 25, SYS_BOOT 22
      expect([has(12), has(21)]).toEqual([true, true]);
      expect([has(16), has(17), has(25), has(22)]).toEqual([false, false, false, false]);
      expect(out).toContain('clock=refused');
      // what the node needs still works from a privileged pod
      expect(out).toContain('link=added');
    } finally {
      await kubectl(['delete', 'pod', 'caps', '--wait=false']);
    }
  });

  it('pods pinned to every node reach each other over TCP; a ClusterIP Service answers by IP and DNS name from every node', async () => {
    const probe = await deployNetworkProbe(kubectl, { image: TOOLBOX_IMAGE });
    try {
      expect([...probe.pods.keys()].sort()).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
      const pods = await podToPodTable(kubectl, probe);
      expect(pods).toHaveLength(6);
      expect(describeFailures(pods)).toBe('');
      const services = await serviceTable(kubectl, probe);
      expect(services).toHaveLength(6);
      expect(describeFailures(services)).toBe('');
    } finally {
      await removeNetworkProbe(kubectl, probe);
    }
  });

  it('exports a kubeconfig that works from the host with kubectl', async () => {
    const r = await run(hostKubectl(DEFAULT_KUBERNETES_VERSION), ['--kubeconfig', cluster.kubeconfigPath, 'get', 'nodes', '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(readyNodes(r.stdout)).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    // merged into the user's kubeconfig as a context, like kind
    const merged = await run(hostKubectl(DEFAULT_KUBERNETES_VERSION), ['--context', cluster.contextName, 'get', 'nodes', '-o', 'name'], {
      KUBECONFIG: `${testHome}/.kube/config`,
    });
    expect(merged.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('a second cluster with numNodes 0 and kube-proxy in nftables mode runs beside it via the CLI (netcheck skips what needs two nodes), and the first still works after it is cleaned', async () => {
    const port = await freePort();
    const upB = await cli(['up', '--name', B, '--num-nodes', '0', '--dind-subnet', '10.194.0.0/16', '--apiserver-port', String(port), '--kube-proxy-mode', 'nftables']);
    expect(upB.stderr).toMatch(/kubeadm init/);
    expect(upB.code, upB.stderr).toBe(0);
    // the API server is on the port asked for, and the single node takes ordinary workloads
    const kubeconfigB = join(toolHome, 'clusters', B, 'admin.conf');
    expect(readFileSync(kubeconfigB, 'utf8')).toContain(`server: https://127.0.0.1:${port}`);
    const kubectlB = kubectlFor(B);
    expect((await kubectlB('get', 'node', 'kube-master', '-o', 'jsonpath={.spec.taints[*].key}')).stdout).not.toContain('node-role.kubernetes.io/control-plane');
    await kubectlB('run', 'plain', `--image=${TOOLBOX_IMAGE}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'sh', '-c', 'echo hello from the only node');
    const waited = await kubectlB('wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/plain', '--timeout=120s');
    expect(waited.code, waited.stderr).toBe(0);
    expect((await kubectlB('logs', 'plain')).stdout.trim()).toBe('hello from the only node');
    // kube-proxy programs Services through its own nftables table
    const [nodeB] = await driver.listNodes({ cluster: B, role: 'node' });
    expect((await nodeB!.exec(['nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout).toContain('chain services');
    const checksB = await cli(['check', '--name', B]);
    expect(checksB.stdout).toMatch(/\b[1-9]\d* passed, 0 failed/);
    expect(checksB.code).toBe(0);
    // netcheck on one node: the cases that need two are skipped and say so; the others run
    const one = await cli(['netcheck', '--name', B, 'pod-to-pod', 'hairpin', 'affinity']);
    expect(one.code, one.stdout.slice(-2000)).toBe(0);
    expect(one.stdout).toContain(`SKIP pod-to-pod: needs 2 nodes; cluster "${B}" has 1`);
    expect(one.stdout).toContain(`SKIP affinity: needs 2 nodes; cluster "${B}" has 1`);
    expect(one.stdout).toContain('PASS hairpin/tcp');
    expect(one.stdout).toMatch(/1 passed, 0 failed, 2 skipped/);
    const list = JSON.parse((await cli(['list', '--json'])).stdout) as { name: string }[];
    expect(list.map((c) => c.name)).toEqual(expect.arrayContaining([A, B]));
    const cleanB = await cli(['clean', '--name', B]);
    expect(cleanB.code, cleanB.stderr).toBe(0);
    expect(await leftovers(B)).toEqual([]);
    expect(readyNodes(await kubectl(['get', 'nodes', '-o', 'json']))).toHaveLength(3);
  });

  it('netcheck: a broken route shows as exactly the X cells it causes, and exit 1; mended, the table is green again', async () => {
    const nodes = await driver.listNodes({ cluster: A, role: 'node' });
    const node2 = nodes.find((n) => n.hostname === 'kube-node-2')!;
    const cidr = (await kubectlFor(A)('get', 'node', 'kube-node-1', '-o', 'jsonpath={.spec.podCIDR}')).stdout.trim();
    expect(cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    // kube-node-2 loses its route to kube-node-1's pods: its packets there, and its replies to them, go nowhere
    const route = (await node2.exec(['ip', 'route', 'show', cidr])).stdout.trim();
    expect(route).toContain('via');
    await node2.exec(['ip', 'route', 'del', cidr]);
    try {
      const r = await cli(['netcheck', '--name', A, 'pod-to-pod', '--attempts', '2', '--json']);
      expect(r.code).toBe(1);
      const out = report(r.stdout);
      expect(out).toMatchObject({ passed: 0, failed: 1 });
      expect(mismatches(out)).toEqual(
        [
          'pod-to-pod/tcp: pod@kube-node-1 -> pod@kube-node-2',
          'pod-to-pod/tcp: pod@kube-node-2 -> pod@kube-node-1',
          'pod-to-pod/udp: pod@kube-node-1 -> pod@kube-node-2/udp',
          'pod-to-pod/udp: pod@kube-node-2 -> pod@kube-node-1/udp',
        ].sort(),
      );
      // the text report shows the grids and names the failing cells
      const text = await cli(['netcheck', '--name', A, 'pod-to-pod', '--attempts', '1']);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('FAIL pod-to-pod/tcp');
      expect(text.stdout).toMatch(/comparison \(X = differs\):\n-\s+1 2 3 4 5\npod@kube-master\s+\. \. \. \. \.\npod@kube-node-1\s+\. \. X \. \.\npod@kube-node-2\s+\. X \. \. \./);
      expect(text.stdout).toContain('pod@kube-node-2 -> pod@kube-node-1: expected reachable');
      expect(text.stdout).toMatch(/0 passed, 1 failed \(cases; 23 of 27 cells as expected\)/);
    } finally {
      await node2.exec(['ip', 'route', 'replace', ...route.split(/\s+/)]);
    }
    const mended = await cli(['netcheck', '--name', A, 'pod-to-pod']);
    expect(mended.code, mended.stdout.slice(-2000)).toBe(0);
    expect(mended.stdout).toMatch(/1 passed, 0 failed/);
  });

  it('down removes the nodes only; up brings the cluster back from its snapshot; clean leaves nothing behind', async () => {
    expect((await cli(['down', '--name', A])).code).toBe(0);
    expect(await driver.listNodes({ cluster: A })).toEqual([]);
    expect(await driver.listNetworks({ cluster: A })).toHaveLength(1);
    expect(await driver.images.list({ cluster: A, role: 'snapshot' })).toHaveLength(3);

    const again = await cli(['up', '--name', A, '--addons', '', '--num-nodes', '2', '--dind-subnet', SUBNET]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('restored from its snapshot');
    expect(again.stderr).not.toContain('kubeadm init');
    const k = kubectlFor(A);
    expect(readyNodes((await k('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    const checksA = await cli(['check', '--name', A]);
    expect(checksA.stdout, checksA.stdout).toMatch(/\b6 passed, 0 failed/);

    // `up` on a cluster that is up from the same config says so, exits 0 and changes nothing
    const ids = (await driver.listNodes({ cluster: A })).map((n) => n.id).sort();
    const upAgain = await cli(['up', '--name', A, '--addons', '', '--num-nodes', '2', '--dind-subnet', SUBNET]);
    expect(upAgain.code, upAgain.stderr).toBe(0);
    expect(upAgain.stdout).toContain(`Cluster "${A}" is already up (nothing to do)`);
    expect((await driver.listNodes({ cluster: A })).map((n) => n.id).sort()).toEqual(ids);
    // from another config it is refused, naming down
    const other = await cli(['up', '--name', A, '--addons', '', '--num-nodes', '1', '--dind-subnet', SUBNET]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(`Cluster "${A}" already has 3 container(s)`);

    expect((await cli(['clean', '--name', A])).code).toBe(0);
    expect(await leftovers(A)).toEqual([]);
  });
});
