import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ADDON_API_VERSION, findGo, goModuleDir, PreflightError,
  type Addon, type AddonPortMapping, type ClusterContext, type EngineContext, type GoBinary, type ImageRequirement, type NodeHandle, type ResolvedConfig,
} from '@local-cluster/core';
import { crdsFromYaml } from './metallb.js';

/**
 * Ingress and Gateway API: Traefik v3, built from its Go module with CGO off, on the first control
 * plane's host network, its ports 80 and 443 published on 127.0.0.1 of the host
 * (cluster.ingress.httpPort / httpsPort) through that node container's port mappings. The image
 * name is upstream's, so a pulled upstream image is used as is.
 */
export const TRAEFIK_MODULE = 'github.com/traefik/traefik/v3';
export const TRAEFIK_VERSION = 'v3.7.13';
export const TRAEFIK_IMAGE = `docker.io/library/traefik:${TRAEFIK_VERSION}`;
/** The Gateway API module whose standard-channel CRDs are installed (at cluster.ingress.gatewayApiVersion). */
export const GATEWAY_API_MODULE = 'sigs.k8s.io/gateway-api';
/** The Gateway API release Traefik v3.7.13 is built against (its go.mod) and passes conformance at. */
export const GATEWAY_API_DEFAULT_VERSION = 'v1.6.1';

export const INGRESS_NAMESPACE = 'traefik';
const NAME = 'traefik';
/** IngressClass and GatewayClass name. */
export const INGRESS_CLASS = 'traefik';
export const GATEWAY_CLASS = 'traefik';
/** The Gateway the addon makes (namespace traefik): listeners web (80, HTTP) and websecure (443, HTTPS), routes from every namespace. */
export const DEFAULT_GATEWAY = 'traefik';
/** The Secret holding the HTTPS certificate signed by the cluster's CA. */
export const INGRESS_TLS_SECRET = 'ingress-tls';
const INGRESS_CONTROLLER = 'traefik.io/ingress-controller';
const GATEWAY_CONTROLLER = 'traefik.io/gateway-controller';
/** Ports inside the node (Traefik runs on its host network). */
export const INGRESS_HTTP_PORT = 80;
export const INGRESS_HTTPS_PORT = 443;
/** Traefik's own entry point (ping for the probes), on the node's host network. */
const ADMIN_PORT = 9000;
/** Names the certificate is good for: localhost and every name under it (RFC 6761: they resolve to 127.0.0.1). */
export const INGRESS_TLS_NAMES = ['localhost', '*.localhost'];

/**
 * Traefik's module as served does not build: three changes, each named here.
 * - go.mod replaces github.com/abbot/go-http-auth with a 2026 pseudo-version of containous's fork the
 *   proxy refuses: the 2020 one (which v3.5 and v3.6 use) is served.
 * - github.com/traefik/traefik/dynamic/ext is a nested module (`=> ./pkg/config/dynamic/ext`) the
 *   module zip leaves out: it only holds empty extension points of the dynamic configuration, written here.
 * - the ACME provider imports lego's providers/dns, whose DNS-provider SDKs (akamai, huaweicloud,
 *   oci, sacloud, ucloud, yandex-cloud) are not served: it is pointed at a package that refuses every
 *   DNS provider by name. ACME's DNS challenge needs the internet, which these machines lack; the
 *   HTTP and TLS challenges and everything else stay.
 * The web UI's built assets are not in the module (webui/static holds a placeholder): the dashboard
 * is left off.
 */
export function traefikBinary(): GoBinary {
  const version = `${TRAEFIK_MODULE}/pkg/version`;
  return {
    module: TRAEFIK_MODULE,
    version: TRAEFIK_VERSION,
    package: 'cmd/traefik',
    binary: 'traefik',
    ldflags: [`-X ${version}.Version=${TRAEFIK_VERSION}`, `-X ${version}.Codename=cheddar`],
    replace: { 'github.com/abbot/go-http-auth': 'github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e' },
    sourceFiles: [
      { path: 'pkg/config/dynamic/ext/go.mod', content: 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' },
      {
        path: 'pkg/config/dynamic/ext/ext.go',
        content: [
          '// Package ext: the extension points of the dynamic configuration, empty in the open-source build.',
          'package ext',
          '',
          'type HTTP struct{}',
          '',
          'type Router struct{}',
          '',
          'type RouterIng struct{}',
          '',
          'func (RouterIng) ToRouter() Router { return Router{} }',
          '',
        ].join('\n'),
      },
      {
        path: 'pkg/provider/acme/nodns/nodns.go',
        content: [
          '// Package nodns stands in for lego\'s providers/dns, whose DNS-provider SDKs the module proxy does not serve.',
          'package nodns',
          '',
          'import (',
          '\t"fmt"',
          '',
          '\t"github.com/go-acme/lego/v5/challenge"',
          ')',
          '',
          'func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {',
          '\treturn nil, fmt.Errorf("ACME DNS challenge provider %q: this build has no DNS providers (built offline by local-cluster)", name)',
          '}',
          '',
        ].join('\n'),
      },
    ],
    sourceEdits: [
      {
        file: 'pkg/provider/acme/provider.go',
        from: '"github.com/go-acme/lego/v5/providers/dns"',
        to: `dns "${TRAEFIK_MODULE}/pkg/provider/acme/nodns"`,
      },
    ],
  };
}

export function ingressImages(): ImageRequirement[] {
  return [{ ref: TRAEFIK_IMAGE, recipe: { go: [traefikBinary()], entrypoint: ['/usr/local/bin/traefik'] }, loadIntoNodes: 'control-planes' }];
}

/** The host ports: 127.0.0.1:httpPort -> the node's 80, 127.0.0.1:httpsPort -> its 443. */
export function ingressPortMappings(config: ResolvedConfig): AddonPortMapping[] {
  return [
    { containerPort: INGRESS_HTTP_PORT, hostPort: config.cluster.ingress.httpPort, listenAddress: '127.0.0.1' },
    { containerPort: INGRESS_HTTPS_PORT, hostPort: config.cluster.ingress.httpsPort, listenAddress: '127.0.0.1' },
  ];
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Whether the module proxy serves that Gateway API release (`go list -m`); the failure's text when not. */
async function gatewayApiServed(version: string): Promise<string | undefined> {
  const go = findGo();
  if (!go) return 'no Go toolchain was found (set GO=/path/to/go)';
  return promisify(execFile)(go, ['list', '-m', '-json', `${GATEWAY_API_MODULE}@${version}`], { env: { ...process.env, GOFLAGS: '-mod=mod' }, cwd: '/' })
    .then(() => undefined)
    .catch((e: { stderr?: string; message: string }) => (e.stderr || e.message).trim().split('\n').slice(-2).join(' '));
}

/**
 * Before anything is made: not in services mode (no nodes to run on), both host ports free and
 * distinct, and a Gateway API release the module proxy serves.
 */
export async function ingressPreflight(ctx: Pick<EngineContext, 'config' | 'driver'>): Promise<void> {
  const { config } = ctx;
  const { httpPort, httpsPort, gatewayApiVersion } = config.cluster.ingress;
  if (config.cluster.mode === 'services') {
    throw new PreflightError('ingress', 'The ingress addon needs nodes to run Traefik on, and cluster.mode is services (--mode services) (no nodes, no kubelet).', {
      hint: 'Drop ingress from cluster.addons (--addons), or bring the cluster up with nodes (--mode nodes).',
    });
  }
  if (httpPort === httpsPort) {
    throw new PreflightError('ingress-port', `cluster.ingress.httpPort and cluster.ingress.httpsPort are both ${httpPort}.`, { hint: 'Give --ingress-http-port and --ingress-https-port different ports.' });
  }
  // a remote engine's ports are its machine's: the engine judges them when the node starts
  if (!ctx.driver.location?.remote) {
    for (const [setting, flag, port] of [['cluster.ingress.httpPort', 'ingress-http-port', httpPort], ['cluster.ingress.httpsPort', 'ingress-https-port', httpsPort]] as const) {
      if (!(await portFree(port, '127.0.0.1'))) {
        throw new PreflightError('ingress-port', `${setting} (--${flag}): port ${port} is already in use on this host (127.0.0.1); the ingress addon publishes Traefik there.`, {
          hint: `Pick a free port with --${flag} (${setting}), or stop what listens on ${port}.`,
        });
      }
    }
  }
  const refused = await gatewayApiServed(gatewayApiVersion);
  if (refused) {
    throw new PreflightError('gateway-api-version', `cluster.ingress.gatewayApiVersion (--gateway-api-version) ${gatewayApiVersion}: the Go module proxy does not serve ${GATEWAY_API_MODULE}@${gatewayApiVersion} (${refused}).`, {
      hint: `Pick a release it serves (\`go list -m -versions ${GATEWAY_API_MODULE}\`), or leave the default ${GATEWAY_API_DEFAULT_VERSION}.`,
    });
  }
}

/** The standard-channel CRDs of a Gateway API release, read from its module (config/crd/standard). */
export async function gatewayApiCrds(version: string): Promise<object[]> {
  const dir = join(await goModuleDir(GATEWAY_API_MODULE, version), 'config', 'crd', 'standard');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  return crdsFromYaml(await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8'))));
}

export interface IngressManifestOptions {
  /** The node Traefik runs on (kubernetes.io/hostname): the first control plane, whose container publishes the ports. */
  node: string;
  /** Its address on the cluster network: what Ingress and Gateway statuses report. */
  nodeAddress: string;
  /** A LoadBalancer Service (MetalLB installed) instead of a ClusterIP one. */
  loadBalancer: boolean;
}

/** Traefik's static configuration, as flags. */
export function traefikArgs(options: Pick<IngressManifestOptions, 'nodeAddress'>): string[] {
  return [
    `--entrypoints.web.address=:${INGRESS_HTTP_PORT}`,
    `--entrypoints.websecure.address=:${INGRESS_HTTPS_PORT}`,
    // every router also answers on websecure, with TLS (the default certificate below)
    '--entrypoints.websecure.http.tls=true',
    `--entrypoints.traefik.address=:${ADMIN_PORT}`,
    '--ping=true',
    '--log.level=INFO',
    '--global.checknewversion=false',
    '--global.sendanonymoususage=false',
    '--providers.kubernetesingress=true',
    // a Service without endpoints answers 503 (as Gateway API asks), not 404 as if the rule were absent
    '--providers.kubernetesingress.allowEmptyServices=true',
    `--providers.kubernetesingress.ingressendpoint.ip=${options.nodeAddress}`,
    '--providers.kubernetesgateway=true',
    `--providers.kubernetesgateway.statusaddress.ip=${options.nodeAddress}`,
    // the default certificate (signed by the cluster's CA), from the mounted Secret
    '--providers.file.filename=/etc/traefik/dynamic/tls.yaml',
  ];
}

/** Namespace, RBAC, Traefik, its Service, the IngressClass (default), the GatewayClass and the default Gateway. */
export function ingressManifest(options: IngressManifestOptions): object[] {
  const labels = { 'app.kubernetes.io/name': NAME };
  const ns = INGRESS_NAMESPACE;
  const read = ['get', 'list', 'watch'];
  const gatewayKinds = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tcproutes', 'tlsroutes', 'referencegrants', 'backendtlspolicies'];
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: ns, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels },
      rules: [
        { apiGroups: [''], resources: ['services', 'secrets', 'configmaps', 'nodes'], verbs: read },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
        // kubernetesingress
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: read },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
        // kubernetesgateway
        { apiGroups: ['gateway.networking.k8s.io'], resources: gatewayKinds, verbs: read },
        { apiGroups: ['gateway.networking.k8s.io'], resources: gatewayKinds.map((k) => `${k}/status`), verbs: ['update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'traefik-dynamic', namespace: ns, labels },
      data: {
        'tls.yaml': ['tls:', '  stores:', '    default:', '      defaultCertificate:', '        certFile: /etc/traefik/tls/tls.crt', '        keyFile: /etc/traefik/tls/tls.key', ''].join('\n'),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: ns, labels },
      spec: {
        replicas: 1,
        // the host ports are the node's: the old pod goes before the new one binds them
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            // on the node whose container publishes 80 and 443 on the host
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            nodeSelector: { 'kubernetes.io/hostname': options.node },
            tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: NAME,
                image: TRAEFIK_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                args: traefikArgs(options),
                ports: [
                  { name: 'web', containerPort: INGRESS_HTTP_PORT },
                  { name: 'websecure', containerPort: INGRESS_HTTPS_PORT },
                  { name: 'admin', containerPort: ADMIN_PORT },
                ],
                readinessProbe: { httpGet: { path: '/ping', port: ADMIN_PORT }, periodSeconds: 2, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: '/ping', port: ADMIN_PORT }, initialDelaySeconds: 10, periodSeconds: 10 },
                resources: { requests: { cpu: '50m', memory: '50Mi' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, readOnlyRootFilesystem: true },
                volumeMounts: [
                  { name: 'tls', mountPath: '/etc/traefik/tls', readOnly: true },
                  { name: 'dynamic', mountPath: '/etc/traefik/dynamic', readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'tls', secret: { secretName: INGRESS_TLS_SECRET } },
              { name: 'dynamic', configMap: { name: 'traefik-dynamic' } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAME, namespace: ns, labels },
      spec: {
        type: options.loadBalancer ? 'LoadBalancer' : 'ClusterIP',
        selector: labels,
        ports: [
          { name: 'web', port: 80, targetPort: INGRESS_HTTP_PORT, protocol: 'TCP' },
          { name: 'websecure', port: 443, targetPort: INGRESS_HTTPS_PORT, protocol: 'TCP' },
        ],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: INGRESS_CLASS, labels, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: INGRESS_CONTROLLER },
    },
  ];
}

/** The GatewayClass and the default Gateway (applied once the CRDs are established). */
export function gatewayManifest(): object[] {
  return [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: GATEWAY_CLASS }, spec: { controllerName: GATEWAY_CONTROLLER } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: DEFAULT_GATEWAY, namespace: INGRESS_NAMESPACE },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        listeners: [
          { name: 'web', protocol: 'HTTP', port: INGRESS_HTTP_PORT, allowedRoutes: { namespaces: { from: 'All' } } },
          {
            name: 'websecure',
            protocol: 'HTTPS',
            port: INGRESS_HTTPS_PORT,
            tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: INGRESS_TLS_SECRET }] },
            allowedRoutes: { namespaces: { from: 'All' } },
          },
        ],
      },
    },
  ];
}

/**
 * A key and a certificate for localhost and *.localhost signed by the cluster's CA (kubeadm's
 * /etc/kubernetes/pki/ca.*), made on the control plane with its openssl, as a kubernetes.io/tls
 * Secret: clients that trust the cluster's CA (the kubeconfig's certificate-authority-data) trust it.
 */
export async function makeTlsSecret(ctx: ClusterContext, node: NodeHandle): Promise<void> {
  const dir = '/etc/kubernetes/ingress';
  const sans = INGRESS_TLS_NAMES.map((n) => `DNS:${n}`).join(',');
  const script = [
    'set -e',
    `mkdir -p ${dir} && cd ${dir}`,
    'if [ ! -s tls.crt ]; then',
    '  openssl req -new -newkey rsa:2048 -nodes -keyout tls.key -subj "/CN=localhost/O=local-cluster ingress" -out tls.csr 2>/dev/null',
    `  printf 'subjectAltName=${sans}\\nextendedKeyUsage=serverAuth\\nkeyUsage=digitalSignature,keyEncipherment\\n' > ext.cnf`,
    '  openssl x509 -req -in tls.csr -CA /etc/kubernetes/pki/ca.crt -CAkey /etc/kubernetes/pki/ca.key -CAcreateserial -days 3650 -sha256 -extfile ext.cnf -out tls.crt 2>/dev/null',
    'fi',
    `kubectl --kubeconfig /etc/kubernetes/admin.conf -n ${INGRESS_NAMESPACE} create secret tls ${INGRESS_TLS_SECRET} --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -`,
  ].join('\n');
  const r = await node.exec(['sh', '-c', script], { signal: ctx.signal });
  if (r.exitCode !== 0) throw new Error(`making the ingress certificate on ${node.name} failed: ${r.stderr || r.stdout}`);
}

/** The first control plane: its container publishes the ingress ports. */
function firstControlPlane(nodes: readonly NodeHandle[]): NodeHandle {
  const cps = nodes.filter((n) => n.role === 'control-plane').sort((a, b) => a.hostname.localeCompare(b.hostname));
  if (!cps[0]) throw new Error('the cluster has no control-plane node');
  return cps[0];
}

/** The `ingress` addon: Traefik serving Ingress (IngressClass traefik, the default) and Gateway API (GatewayClass traefik, Gateway traefik/traefik). */
export function ingress(): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'ingress',
    images: () => ingressImages(),
    portMappings: (config) => ingressPortMappings(config),
    preflight: (ctx) => ingressPreflight(ctx),
    async install(ctx: ClusterContext) {
      const node = firstControlPlane(ctx.nodes);
      const crds = await gatewayApiCrds(ctx.config.cluster.ingress.gatewayApiVersion);
      await ctx.apply(crds);
      const manifest = ingressManifest({ node: node.hostname, nodeAddress: await node.ip(), loadBalancer: ctx.config.cluster.addons.includes('metallb') });
      await ctx.apply(manifest.slice(0, 1));
      await makeTlsSecret(ctx, node);
      await ctx.apply(manifest.slice(1));
      await ctx.kubectl(['wait', '--for=condition=Established', ...crds.map((c) => `crd/${(c as { metadata: { name: string } }).metadata.name}`), '--timeout=60s']);
      await ctx.apply(gatewayManifest());
    },
    async waitReady(ctx: ClusterContext) {
      await ctx.waitForRollout('deployment', INGRESS_NAMESPACE, NAME, { timeoutSeconds: 180 });
      await ctx.kubectl(['wait', '--for=condition=Programmed', '-n', INGRESS_NAMESPACE, `gateway/${DEFAULT_GATEWAY}`, '--timeout=60s']);
    },
  };
}

export default ingress;
