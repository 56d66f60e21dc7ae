import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { configSchema, planNodes } from '../../src/index.js';
import { servicesEnv, servicesImage, servicesSpec, SERVICES_ENTRYPOINT } from '../../src/lifecycle/services.js';
import { bootstrapKubeconfig, HOLLOW_ENTRYPOINT, hollowAddress, hollowGroups, hollowMemoryProblem, hollowSpec, inClusterApiServer, kubemarkImage } from '../../src/lifecycle/hollow-nodes.js';

const config = (cluster: Record<string, unknown> = {}, dind: Record<string, unknown> = {}) => configSchema.parse({ cluster, dind });

describe('services mode', () => {
  it('gives each component its flags one per line, with the user component flags on top', () => {
    const settings = config({ mode: 'services', featureGates: { InPlacePodVerticalScaling: true }, componentArgs: { apiServer: { 'max-requests-inflight': 800 } } });
    const env = servicesEnv(settings, planNodes(settings), '127.0.0.1');
    const api = env.LOCAL_CLUSTER_APISERVER_ARGS!.split('\n');
    expect(api).toContain('--advertise-address=10.192.0.2');
    expect(api).toContain('--feature-gates=InPlacePodVerticalScaling=true');
    expect(api).toContain('--max-requests-inflight=800');
    expect(api).toContain('--service-account-issuer=https://kubernetes.default.svc.cluster.local');
    expect(env.LOCAL_CLUSTER_CONTROLLER_MANAGER_ARGS).toMatch(/--controllers=namespace-controller,serviceaccount-controller,/);
    expect(env.LOCAL_CLUSTER_ETCD_ARGS).toMatch(/--listen-client-urls=http:\/\/127\.0\.0\.1:2379/);
    const [init, cluster] = yaml.loadAll(env.LOCAL_CLUSTER_KUBEADM_CONFIG!) as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(init!.localAPIEndpoint.advertiseAddress).toBe('10.192.0.2');
    expect(cluster!.apiServer.certSANs).toEqual(['localhost', '127.0.0.1', 'kube-master', '10.192.0.2']);
    expect(cluster!.kubernetesVersion).toBe('v1.34.4');
  });

  it('makes one unprivileged container named and addressed as the control plane, publishing the API port', () => {
    const settings = config({ name: 'svc', mode: 'services' }, { subnet: '10.50.0.0/16' });
    const spec = servicesSpec(settings, planNodes(settings), 'img', 'net', 40000, '127.0.0.1', '127.0.0.1', 'abc');
    expect(spec).toMatchObject({ name: 'local-cluster-svc-kube-master', hostname: 'kube-master', ip: '10.50.0.2', privileged: false, ports: [{ containerPort: 6443, hostPort: 40000, hostIp: '127.0.0.1' }] });
    expect(spec.labels).toMatchObject({ 'dev.local-cluster.role': 'node', 'dev.local-cluster.mode': 'services', 'dev.local-cluster.config-hash': 'abc' });
  });

  it('builds its image from the binaries given, and refuses a missing one by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svc-bin-'));
    const paths: Record<string, string> = {};
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubeadm', 'kubectl']) writeFileSync((paths[name] = join(dir, name)), name);
    delete paths.etcd; // found beside kube-apiserver
    const image = await servicesImage('v1.34.4', paths, join(dir, 'cache'));
    expect(image.recipe!.files!.map((f) => f.path)).toEqual(['/usr/local/bin/etcd', '/usr/local/bin/kube-apiserver', '/usr/local/bin/kube-controller-manager', '/usr/local/bin/kubeadm', '/usr/local/bin/kubectl', '/usr/local/bin/local-cluster-services']);
    expect(image.recipe!.files![0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(servicesImage('v1.34.4', { ...paths, kubectl: join(dir, 'nope') }, join(dir, 'cache'))).rejects.toThrow(/needs kubectl/);
  });

  it('has entrypoints a POSIX shell accepts', () => {
    for (const script of [SERVICES_ENTRYPOINT, HOLLOW_ENTRYPOINT]) {
      const file = join(mkdtempSync(join(tmpdir(), 'entry-')), 'entry.sh');
      writeFileSync(file, script);
      expect(() => execFileSync('sh', ['-n', file])).not.toThrow();
    }
  });
});

describe('hollow nodes', () => {
  it('packs 25 hollow kubelets per container, names them from 1', () => {
    expect(hollowGroups(0)).toEqual([]);
    const groups = hollowGroups(53);
    expect(groups.map((g) => g.length)).toEqual([25, 25, 3]);
    expect(groups[0]![0]).toBe('hollow-node-1');
    expect(groups[2]![2]).toBe('hollow-node-53');
  });

  it('addresses containers from the top of the subnet', () => {
    expect(hollowAddress(config({}, { subnet: '10.60.0.0/16' }), 0)).toBe('10.60.255.253');
    expect(hollowAddress(config({}, { subnet: '10.60.0.0/24' }), 1)).toBe('10.60.0.252');
  });

  it('estimates memory and says how many fit', () => {
    expect(hollowMemoryProblem(0, 0)).toBeUndefined();
    expect(hollowMemoryProblem(10, 8 * 2 ** 30)).toBeUndefined();
    expect(hollowMemoryProblem(1000, 8 * 2 ** 30)).toBe(
      'cluster.hollowNodes 1000 needs about 29.3 GiB (30 MiB per hollow kubelet) plus 3.0 GiB for the nodes and the control plane, but this machine has 8.0 GiB free: at most about 170 fit',
    );
  });

  it('registers through the control plane (or the load balancer) with a bootstrap token, labelled and tainted', () => {
    expect(inClusterApiServer(planNodes(config({}, { subnet: '10.70.0.0/16' })))).toBe('https://10.70.0.2:6443');
    expect(inClusterApiServer(planNodes(config({ controlPlanes: 3, numNodes: 1 }, { subnet: '10.70.0.0/16' })))).toBe('https://10.70.0.6:6443');
    const kc = yaml.load(bootstrapKubeconfig('https://10.70.0.2:6443', 'Q0E=', 'hollow.0123456789abcdef')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(kc.users[0].user.token).toBe('hollow.0123456789abcdef');
    expect(kc.clusters[0].cluster['certificate-authority-data']).toBe('Q0E=');
    const spec = hollowSpec(config({ name: 'h', hollowNodes: 2 }), 'img', 'net', 0, ['hollow-node-1', 'hollow-node-2'], 'kc');
    expect(spec).toMatchObject({ hostname: 'hollow-nodes-0', privileged: false, labels: { 'dev.local-cluster.role': 'hollow-nodes', 'dev.local-cluster.cluster': 'h' } });
    expect(spec.env!.LOCAL_CLUSTER_HOLLOW_NAMES).toBe('hollow-node-1 hollow-node-2');
    expect(spec.env!.LOCAL_CLUSTER_HOLLOW_FLAGS).toContain('--register-with-taints=local-cluster.dev/hollow-node=true:NoSchedule');
    expect(kubemarkImage('v1.34.4').recipe!.go![0]).toMatchObject({ module: 'k8s.io/kubernetes', version: 'v1.34.4', package: 'cmd/kubemark', inTreeReplacesAt: 'v0.34.4' });
  });
});
