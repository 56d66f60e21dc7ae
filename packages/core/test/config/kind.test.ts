import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, HOME_ENV, loadConfig, readConfigFile, type LoadConfigOptions } from '../../src/config/load.js';
import { convertKindConfig, isKindConfig } from '../../src/config/kind.js';
import { noCni } from '../../src/plugins/no-cni.js';
import { manifestCni } from '../../src/plugins/manifest-cni.js';
import { planNodes } from '../../src/lifecycle/node-plan.js';
import { renderClusterKubeadm } from '../../src/lifecycle/kubeadm-config.js';
import { isConfigError, type ConfigError } from '../../src/errors.js';
import { tempDir, thrownBy, writeTree } from '../helpers.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const kindFixtures = fileURLToPath(new URL('../fixtures/kind/', import.meta.url));
const kindFixture = (name: string) => join(kindFixtures, name);

function load(options: LoadConfigOptions = {}) {
  return loadConfig({ cwd: tempDir(), ...options, env: { [HOME_ENV]: tempDir('local-cluster-home-'), ...(options.env ?? {}) } });
}

/** Converts a kind config given as YAML text. */
function convert(text: string): Doc {
  return convertKindConfig(yaml.load(text) as Doc, '/kind.yaml').config;
}

function refusal(fn: () => unknown): ConfigError {
  const error = thrownBy(fn);
  expect(isConfigError(error), `expected a ConfigError, got ${String(error)}`).toBe(true);
  return error as ConfigError;
}

const HEAD = 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n';

describe("kind's user-guide configs convert to the equivalent config", () => {
  it('multi-node: one control plane, two workers, kind\'s storage and nothing else', () => {
    expect(convertKindConfig(readYaml('multi-node.yaml'), 'f').config).toEqual({ cluster: { addons: ['storage'], numNodes: 2 } });
  });

  it('ingress-ready: the node label lifted out of kubeletExtraArgs, ports 80 and 443 mapped', () => {
    expect(convertKindConfig(readYaml('ingress-ready.yaml'), 'f').config).toEqual({
      cluster: {
        addons: ['storage'],
        numNodes: 0,
        controlPlane: {
          labels: { 'ingress-ready': 'true' },
          extraPortMappings: [
            { containerPort: 80, hostPort: 80, protocol: 'TCP' },
            { containerPort: 443, hostPort: 443, protocol: 'TCP' },
          ],
        },
      },
    });
  });

  it('feature gates and runtime config', () => {
    expect(convertKindConfig(readYaml('feature-gates.yaml'), 'f').config).toEqual({
      cluster: { addons: ['storage'], numNodes: 0, featureGates: { CSIVolumeHealth: true }, runtimeConfig: { 'api/alpha': 'false' } },
    });
  });

  it('kubeadm patches: API server flags become componentArgs, a worker\'s kubelet flag is appended, its label lifted, the JSON 6902 patch kept', () => {
    expect(convertKindConfig(readYaml('kubeadm-patches.yaml'), 'f').config).toEqual({
      cluster: {
        addons: ['storage'],
        componentArgs: { apiServer: { 'enable-admission-plugins': 'NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook' } },
        kubeadmPatches: [{ kind: 'ClusterConfiguration', jsonPatch: [{ op: 'add', path: '/apiServer/certSANs/-', value: 'my-hostname' }] }],
        workers: [
          {
            labels: { 'my-label': 'true' },
            kubeadmPatches: [{ kind: 'JoinConfiguration', jsonPatch: [{ op: 'add', path: '/nodeRegistration/kubeletExtraArgs/-', value: { name: 'max-pods', value: '50' } }] }],
          },
        ],
      },
    });
  });

  it('disableDefaultCNI: cniPlugin none, and with it no addons', () => {
    const { config } = load({ file: kindFixture('no-cni.yaml') });
    expect(config.cluster.cniPlugin).toBe('none');
    expect(config.cluster.podSubnet).toBe('10.244.0.0/16');
    expect(config.cluster.addons).toEqual([]);
    expect(config.cluster.numNodes).toBe(1);
  });

  it('is read by --config and by LOCAL_CLUSTER_CONF alike, recognised by apiVersion and kind', () => {
    const byFile = load({ file: kindFixture('kubeadm-patches.yaml') });
    const byEnv = load({ env: { [CONFIG_FILE_ENV]: kindFixture('kubeadm-patches.yaml') } });
    expect(byEnv.config).toEqual(byFile.config);
    expect(byFile.config.cluster.numNodes).toBe(1);
    expect(byFile.config.cluster.workers?.[0]?.labels).toEqual({ 'my-label': 'true' });
    expect(byFile.sources['cluster.componentArgs']).toEqual({ kind: 'file', path: kindFixture('kubeadm-patches.yaml') });
    // flags still win over the file
    expect(load({ file: kindFixture('multi-node.yaml'), flags: { addons: '' } }).config.cluster.addons).toEqual([]);
  });

  it("renders the kubeadm documents kind's patches describe, each node its own", () => {
    const { config } = load({ file: kindFixture('kubeadm-patches.yaml') });
    const docs = renderClusterKubeadm(config, planNodes(config), manifestCni({ name: 'x', defaultPodSubnet: '10.244.0.0/16', images: [] })).split(/^---\n(?=# )/m);
    const [init, join1] = docs.map((d) => yaml.loadAll(d) as Doc[]);
    const cluster = init!.find((d) => d.kind === 'ClusterConfiguration')!;
    expect(cluster.apiServer.certSANs).toContain('my-hostname');
    expect(cluster.apiServer.extraArgs).toContainEqual({ name: 'enable-admission-plugins', value: 'NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook' });
    const initArgs = init!.find((d) => d.kind === 'InitConfiguration')!.nodeRegistration.kubeletExtraArgs;
    expect(initArgs.map((a: Doc) => a.name)).not.toContain('max-pods');
    const joinArgs = join1![0]!.nodeRegistration.kubeletExtraArgs;
    // appended: node-ip and ours stay
    expect(joinArgs).toContainEqual({ name: 'max-pods', value: '50' });
    expect(joinArgs.map((a: Doc) => a.name)).toContain('node-ip');
  });

  it('carries podSubnet and serviceSubnet into kubeadm', () => {
    const dir = tempDir();
    writeTree(dir, { 'k.yaml': `${HEAD}networking:\n  podSubnet: 10.100.0.0/16\n  serviceSubnet: 10.101.0.0/16\n  apiServerAddress: 127.0.0.1\n  apiServerPort: 6443\n  kubeProxyMode: nftables\n` });
    const { config } = load({ file: join(dir, 'k.yaml') });
    expect(config.cluster).toMatchObject({ podSubnet: '10.100.0.0/16', serviceSubnet: '10.101.0.0/16', apiServerAddress: '127.0.0.1', apiServerPort: 6443, kubeProxyMode: 'nftables' });
    const init = yaml.loadAll(renderClusterKubeadm(config, planNodes(config), noCni())) as Doc[];
    expect(init.find((d) => d.kind === 'ClusterConfiguration')!.networking).toMatchObject({ podSubnet: '10.100.0.0/16', serviceSubnet: '10.101.0.0/16' });
  });

  it('maps networking.ipFamily, and dual-stack "v4,v6" ranges to the setting of each family', () => {
    expect(convert(`${HEAD}networking:\n  ipFamily: dual\n  podSubnet: 10.100.0.0/16,fd00:10:100::/56\n  serviceSubnet: 10.101.0.0/16,fd00:10:101::/112\n`)).toMatchObject({
      cluster: { ipFamily: 'dual', podSubnet: '10.100.0.0/16', podSubnet6: 'fd00:10:100::/56', serviceSubnet: '10.101.0.0/16', serviceSubnet6: 'fd00:10:101::/112' },
    });
    expect(convert(`${HEAD}networking:\n  ipFamily: ipv6\n  serviceSubnet: fd00:10:101::/112\n`)).toMatchObject({ cluster: { ipFamily: 'ipv6', serviceSubnet6: 'fd00:10:101::/112' } });
    const dir = tempDir();
    writeTree(dir, { 'k.yaml': `${HEAD}networking:\n  ipFamily: dual\n` });
    expect(load({ file: join(dir, 'k.yaml') }).config.cluster.ipFamily).toBe('dual');
  });

  it('groups consecutive alike workers, keeps a worker with ports alone, and shares control-plane settings', () => {
    const config = convert(`${HEAD}nodes:
- role: control-plane
  labels: {tier: cp}
- role: control-plane
  labels: {tier: cp}
- role: control-plane
  labels: {tier: cp}
- role: worker
  labels: {a: "1"}
- role: worker
  labels: {a: "1"}
- role: worker
  extraMounts: [{hostPath: ./data, containerPath: /data, readOnly: true}]
  extraPortMappings: [{containerPort: 30080, hostPort: 8080, listenAddress: 0.0.0.0}]
`);
    expect(config.cluster).toEqual({
      addons: ['storage'],
      controlPlanes: 3,
      controlPlane: { labels: { tier: 'cp' } },
      workers: [
        { count: 2, labels: { a: '1' } },
        { extraMounts: [{ hostPath: './data', containerPath: '/data', readOnly: true }], extraPortMappings: [{ containerPort: 30080, hostPort: 8080, listenAddress: '0.0.0.0' }] },
      ],
    });
  });

  it('recognises only kind: Cluster of kind\'s API group', () => {
    expect(isKindConfig({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4' })).toBe(true);
    expect(isKindConfig({ kind: 'Cluster', apiVersion: 'kind.sigs.k8s.io/v1alpha3' })).toBe(true);
    expect(isKindConfig({ cluster: { numNodes: 1 } })).toBe(false);
    expect(isKindConfig({ kind: 'Cluster', apiVersion: 'cluster.x-k8s.io/v1beta1' })).toBe(false);
  });
});

describe('kind fields without an equivalent are refused, named', () => {
  const cases: [string, string, RegExp, RegExp][] = [
    ['a field of another apiVersion', `${HEAD}nodes:\n- role: worker\n  replicas: 2\n`, /field nodes\[0\]\.replicas is not part of kind's kind\.x-k8s\.io\/v1alpha4 Cluster config/, /Remove or rename it/],
    ['an unknown top-level field', `${HEAD}kubeadmConfigPatchez: []\n`, /field kubeadmConfigPatchez is not part/, /kind-configs\.md/],
    ['another apiVersion', 'kind: Cluster\napiVersion: kind.sigs.k8s.io/v1alpha3\n', /apiVersion is "kind\.sigs\.k8s\.io\/v1alpha3"; only kind's kind\.x-k8s\.io\/v1alpha4/, /apiVersion: kind\.x-k8s\.io\/v1alpha4/],
    ['a node image', `${HEAD}nodes:\n- role: control-plane\n  image: kindest/node:v1.34.0@sha256:abc\n`, /nodes\[0\]\.image has no equivalent/, /source\.kubernetesVersion \(flag --kubernetes-version.*\) to v1\.34\.0/],
    ['containerd patches', `${HEAD}containerdConfigPatches:\n- |\n  [plugins."io.containerd.grpc.v1.cri".registry]\n`, /containerdConfigPatches has no equivalent/, /Remove it/],
    ['kube-proxy off', `${HEAD}networking:\n  kubeProxyMode: none\n`, /networking\.kubeProxyMode is none, which has no equivalent/, /iptables or nftables/],
    ['a random host port', `${HEAD}nodes:\n- role: control-plane\n  extraPortMappings: [{containerPort: 80}]\n`, /nodes\[0\]\.extraPortMappings\[0\]\.hostPort is unset/, /Write the host port/],
    ['SCTP', `${HEAD}nodes:\n- role: control-plane\n  extraPortMappings: [{containerPort: 80, hostPort: 8080, protocol: SCTP}]\n`, /protocol is SCTP/, /TCP or UDP/],
    ['mount propagation', `${HEAD}nodes:\n- role: control-plane\n  extraMounts: [{hostPath: /tmp, containerPath: /x, propagation: Bidirectional}]\n`, /nodes\[0\]\.extraMounts\[0\]\.propagation is Bidirectional/, /None/],
    ['GPUs', `${HEAD}nodes:\n- role: worker\n  gpus: all\n`, /nodes\[0\]\.gpus has no equivalent/, /Remove it/],
    ['control planes that differ', `${HEAD}nodes:\n- role: control-plane\n- role: control-plane\n  labels: {a: b}\n`, /nodes\[1\]\.labels differs from the first control plane's/, /same labels/],
    ['a patch of an unknown document', `${HEAD}kubeadmConfigPatches:\n- |\n  kind: KubeSchedulerConfiguration\n`, /kubeadmConfigPatches\[0\] patches kind "KubeSchedulerConfiguration"/, /InitConfiguration/],
    ['a JSON patch that is not a list', `${HEAD}kubeadmConfigPatchesJSON6902:\n- {group: kubeadm.k8s.io, version: v1beta4, kind: ClusterConfiguration, patch: "op: add"}\n`, /kubeadmConfigPatchesJSON6902\[0\]\.patch is not a list of RFC 6902 operations/, /YAML list/],
    ['no control plane', `${HEAD}nodes:\n- role: worker\n`, /nodes has no control-plane node/, /role: control-plane/],
  ];
  it.each(cases)('%s', (_what, text, message, hint) => {
    const error = refusal(() => convert(text));
    expect(error.message).toMatch(/^kind config \/kind\.yaml: /);
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
  });

  it('names the file and the field when loaded as a config file', () => {
    const error = refusal(() => load({ file: kindFixture('unsupported-field.yaml') }));
    expect(error.message).toContain(`kind config ${kindFixture('unsupported-field.yaml')}: field nodes[1].replicas is not part of`);
    expect(error.setting).toBe('nodes[1].replicas');
  });

  it("names the kind field behind a value our schema refuses", () => {
    const dir = tempDir();
    writeTree(dir, { 'k.yaml': `${HEAD}nodes:\n- role: control-plane\n- role: worker\n  extraMounts: [{hostPath: /tmp, containerPath: /var}]\n` });
    const error = refusal(() => load({ file: join(dir, 'k.yaml') }));
    expect(error.message).toMatch(/cluster\.workers\[0\]\.extraMounts\[0\]\.containerPath .*kind field nodes\[1\]\.extraMounts\[0\]\.containerPath.*system directories/);
    const subnet = join(dir, 's.yaml');
    writeTree(dir, { 's.yaml': `${HEAD}networking:\n  serviceSubnet: 10.0.0.0/8\n` });
    expect(refusal(() => load({ file: subnet })).message).toMatch(/cluster\.serviceSubnet .*kind field networking\.serviceSubnet.*prefix \/8/);
  });
});

describe('cluster.cniPlugin none', () => {
  it('leaves the default addons out and refuses addons asked for', () => {
    expect(load({ flags: { 'cni-plugin': 'none' } }).config.cluster.addons).toEqual([]);
    const error = refusal(() => load({ flags: { 'cni-plugin': 'none', addons: 'storage' } }));
    expect(error.setting).toBe('cluster.addons');
    expect(error.message).toMatch(/cluster\.addons \(from flag --addons\) asks for storage, but cluster\.cniPlugin is "none" \(from flag --cni-plugin\)/);
    expect(load({ flags: { 'cni-plugin': 'none', addons: '' } }).config.cluster.addons).toEqual([]);
  });

  it('is a CNI that gives no pod network but a pod subnet for the one the user installs', () => {
    const cni = noCni();
    expect(cni.supports?.podNetwork).toBe(false);
    expect(cni.defaultPodSubnet).toBe('10.244.0.0/16');
  });
});

describe('readConfigFile', () => {
  it('returns the converted settings for a kind config', () => {
    expect(readConfigFile(kindFixture('multi-node.yaml'))).toEqual({ cluster: { addons: ['storage'], numNodes: 2 } });
  });
});

function readYaml(name: string): Doc {
  return yaml.load(readFileSync(kindFixture(name), 'utf8')) as Doc;
}
