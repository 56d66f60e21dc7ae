import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, ROOT } from './helpers.js';

// Shaping a cluster the way kind's config file does: a feature gate, an API server flag,
// node labels and taints, a host directory mounted into a worker, a host port mapped to a
// NodePort, and Helm installing a chart whose volume the default storage addon provisions.
// Bad values are refused before anything is made.
const NAME = `shape-${process.pid}`;
const BAD = `shape-bad-${process.pid}`;
const SUBNET = '10.206.0.0/16';
const dir = mkdtempSync(join(tmpdir(), 'lc-shape-'));
const kubectl = kubectlFor(NAME);
let hostPort = 0;
let busy: Server;

/** A free TCP port on 127.0.0.1 (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function writeConfig(file: string, text: string): string {
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

/** GET on the host, retried while kube-proxy programs its rules. */
function getFromHost(url: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    url,
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.text();
    },
    { timeoutMs },
  );
}

beforeAll(async () => {
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'greeting.txt'), 'hello from the host\n');
  hostPort = await freePort();
  busy = await new Promise<Server>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
  });
});

afterAll(async () => {
  busy?.close();
  await clean({ driver, cluster: NAME }).catch(() => undefined);
  await clean({ driver, cluster: BAD }).catch(() => undefined);
});

describe('bad cluster-shape settings are refused before anything is made', () => {
  const cases: [string, () => string, RegExp][] = [
    ['an unknown feature gate', () => 'cluster:\n  featureGates:\n    NoSuchGate: true\n', /cluster\.featureGates is refused by kube-apiserver v1\.34\.4: unrecognized feature gate: NoSuchGate/],
    ['a flag the scheduler does not have', () => 'cluster:\n  componentArgs:\n    scheduler:\n      no-such-flag: "1"\n', /cluster\.componentArgs\.scheduler is refused by kube-scheduler v1\.34\.4: unknown flag: --no-such-flag/],
    ['a kubelet flag with a bad value', () => 'cluster:\n  componentArgs:\n    kubelet:\n      max-pods: lots\n', /cluster\.componentArgs\.kubelet is refused by kubelet .*"lots" for "--max-pods"/],
    ['an API group the server does not have', () => 'cluster:\n  runtimeConfig:\n    nonsense.example.com/v1: "true"\n', /cluster\.runtimeConfig is refused by kube-apiserver .*unknown api groups nonsense\.example\.com/],
    ['a JSON patch that does not apply', () => 'cluster:\n  kubeadmPatches:\n    - kind: ClusterConfiguration\n      jsonPatch:\n        - {op: remove, path: /noSuchField}\n', /cluster\.kubeadmPatches\[0\] \(ClusterConfiguration\) does not apply/],
    ['a patch kubeadm refuses', () => 'cluster:\n  kubeadmPatches:\n    - kind: KubeletConfiguration\n      merge: {notAKubeletField: 1}\n', /kubeadm v1\.34\.4 refuses .*unknown field "notAKubeletField"/],
    ['a mount whose host path does not exist', () => 'cluster:\n  workers:\n    - extraMounts: [{hostPath: ./missing, containerPath: /data}]\n', /extraMounts hostPath .*\/missing does not exist on this machine/],
    ['a host port already in use', () => `cluster:\n  controlPlane:\n    extraPortMappings: [{containerPort: 30080, hostPort: ${(busy.address() as { port: number }).port}}]\n`, /hostPort \d+\/TCP is already in use on 127\.0\.0\.1/],
    ['one host port for a group of two', () => 'cluster:\n  workers:\n    - {count: 2, extraPortMappings: [{containerPort: 30080, hostPort: 39999}]}\n', /host port 39999\/TCP is mapped twice/],
    ['a malformed taint', () => 'cluster:\n  controlPlane:\n    taints: [dedicated]\n', /cluster\.controlPlane\.taints\[0\].*key\[=value\]:Effect/],
  ];
  it.each(cases)('%s', async (_what, config, message) => {
    const file = writeConfig('bad.yaml', config());
    const r = await cli(['up', '--name', BAD, '--dind-subnet', '10.207.0.0/16'], { LOCAL_CLUSTER_CONF: file });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(await leftovers(BAD)).toEqual([]);
  });
});

describe('a shaped cluster: gates, flags, labels, taints, mounts, port mappings, Helm', () => {
  let config = '';

  it('comes up with a feature gate on, an API server flag, labelled and tainted nodes, a mount and a port mapping', async () => {
    config = writeConfig(
      'shape.yaml',
      [
        'cluster:',
        `  name: ${NAME}`,
        '  featureGates:',
        '    CSIVolumeHealth: true',
        '  componentArgs:',
        '    apiServer:',
        '      event-ttl: 2h0m0s',
        '  controlPlane:',
        '    labels: {tier: control}',
        '  workers:',
        '    - name: web',
        '      labels: {app-tier: web}',
        '      extraMounts: [{hostPath: ./data, containerPath: /srv/host-data, readOnly: true}]',
        `      extraPortMappings: [{containerPort: 30080, hostPort: ${hostPort}}]`,
        '    - name: batch',
        '      taints: ["batch=true:NoSchedule"]',
        'dind:',
        `  subnet: ${SUBNET}`,
        '',
      ].join('\n'),
    );
    const r = await cli(['up'], { LOCAL_CLUSTER_CONF: config });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/flag check\(s\) passed/);
  });

  it('the gate is on in the API server (/metrics) and in the kubelet config; the flag is on the API server', async () => {
    const metrics = await kubectl('get', '--raw', '/metrics');
    expect(metrics.stdout).toMatch(/kubernetes_feature_enabled\{name="CSIVolumeHealth",stage="ALPHA"\} 1/);
    const kubelet = await kubectl('get', '--raw', '/api/v1/nodes/kube-node-1/proxy/configz');
    expect(JSON.parse(kubelet.stdout).kubeletconfig.featureGates).toEqual({ CSIVolumeHealth: true });
    const apiserver = await kubectl('-n', 'kube-system', 'get', 'pod', 'kube-apiserver-kube-master', '-o', 'jsonpath={.spec.containers[0].command}');
    expect(JSON.parse(apiserver.stdout)).toEqual(expect.arrayContaining(['--event-ttl=2h0m0s', '--feature-gates=CSIVolumeHealth=true']));
  });

  it('nodes carry their labels and taints', async () => {
    const nodes = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout) as { items: { metadata: { name: string; labels: Record<string, string> }; spec: { taints?: { key: string; value?: string; effect: string }[] } }[] };
    const byName = Object.fromEntries(nodes.items.map((n) => [n.metadata.name, n]));
    expect(byName['kube-master']!.metadata.labels.tier).toBe('control');
    expect(byName['kube-node-1']!.metadata.labels['app-tier']).toBe('web');
    expect(byName['kube-node-2']!.metadata.labels['app-tier']).toBeUndefined();
    expect(byName['kube-node-2']!.spec.taints).toEqual([{ key: 'batch', value: 'true', effect: 'NoSchedule' }]);
    expect(byName['kube-node-1']!.spec.taints ?? []).toEqual([]);
  });

  it('a pod with a hostPath volume reads the mounted host file, and its NodePort answers on the mapped host port', async () => {
    const manifest = writeConfig(
      'web.yaml',
      `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeSelector: {app-tier: web}
  containers:
  - name: web
    image: docker.io/local-cluster/toolbox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && cp /host/greeting.txt /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
    volumeMounts: [{name: host, mountPath: /host}]
  volumes: [{name: host, hostPath: {path: /srv/host-data}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
`,
    );
    expect((await kubectl('apply', '-f', manifest)).code).toBe(0);
    const ready = await kubectl('wait', '--for=condition=Ready', 'pod/web', '--timeout=120s');
    expect(ready.code, ready.stderr).toBe(0);
    expect((await kubectl('exec', 'web', '--', 'cat', '/host/greeting.txt')).stdout).toBe('hello from the host\n');
    expect(await getFromHost(`http://127.0.0.1:${hostPort}/`)).toBe('hello from the host\n');
  });

  it('comes back from its snapshot with the mount and the port mapping', async () => {
    expect((await cli(['down', '--name', NAME])).code).toBe(0);
    const r = await cli(['up'], { LOCAL_CLUSTER_CONF: config });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('restored from its snapshot');
    expect(await getFromHost(`http://127.0.0.1:${hostPort}/`, 120_000)).toBe('hello from the host\n');
  });

  it('`local-cluster helm install` of a local chart deploys it and its Service answers', async () => {
    const chart = join(ROOT, 'tests/fixtures/charts/hello');
    const install = await cli(['helm', '--cluster', NAME, 'install', 'hello', chart, '--set', 'message=shaped by helm', '--wait', '--timeout', '3m']);
    expect(install.code, install.stderr.slice(-2000)).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');
    const list = await cli(['helm', '--cluster', NAME, 'list', '-o', 'json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'hello', status: 'deployed', chart: 'hello-0.1.0' })]);
    // the chart's PersistentVolumeClaim was bound by the default StorageClass (the storage addon)
    const pvc = JSON.parse((await kubectl('get', 'pvc', 'hello-data', '-o', 'json')).stdout) as { spec: { storageClassName: string }; status: { phase: string } };
    expect(pvc).toMatchObject({ spec: { storageClassName: 'standard' }, status: { phase: 'Bound' } });
    // from the web pod of the earlier test (the toolbox image has wget)
    const page = await kubectl('exec', 'web', '--', 'wget', '-qO-', 'http://hello.default.svc.cluster.local/');
    expect(page.stdout).toContain('shaped by helm');
    const uninstall = await cli(['helm', '--cluster', NAME, 'uninstall', 'hello', '--wait']);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect((await kubectl('get', 'deployment', 'hello')).code).not.toBe(0);
    // the volume went with the release: its PV and the directory on the node are removed
    await waitFor('the PV to be removed', async () => ((await kubectl('get', 'pv', '-o', 'name')).stdout.trim() === '' ? true : undefined), { timeoutMs: 60_000 });
  });

  it('`local-cluster helm` without a running cluster says which cluster and how to make it', async () => {
    const r = await cli(['helm', '--cluster', BAD, 'list']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cluster "${BAD}" has no kubeconfig`);
  });
});
