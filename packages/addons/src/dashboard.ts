import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON_API_VERSION, BACKGROUND_LABEL, LocalClusterError, type Addon, type ClusterContext, type ImageRequirement } from '@local-cluster/core';
import { onControlPlanes } from './placement.js';
import { INFO_CONFIGMAP } from './dashboard/paths.js';

/**
 * The `dashboard` addon: this project's own read-only web dashboard (the Kubernetes Dashboard
 * was archived in January 2026 and neither it nor Headlamp builds from the module proxy). A small
 * Node server (undici) and a Preact page, bundled at build time; its image holds the Node
 * runtime the `node` npm package brings, libstdc++ from Debian, and the bundle: no shell.
 */
export const DASHBOARD_NAMESPACE = 'local-cluster-dashboard';
export const DASHBOARD_SERVICE = 'dashboard';
const NAME = 'dashboard';
/** The dashboard's Deployment (in DASHBOARD_NAMESPACE), which `local-cluster dashboard` waits for. */
export const DASHBOARD_DEPLOYMENT = NAME;
const PORT = 8080;

/** The path `kubectl proxy` serves the dashboard under (append to http://127.0.0.1:PORT). */
export const DASHBOARD_PROXY_PATH = `/api/v1/namespaces/${DASHBOARD_NAMESPACE}/services/http:${DASHBOARD_SERVICE}:80/proxy/`;

/** dist/dashboard-app: server.mjs, app.js, index.html (bundle-dashboard.mjs). */
function bundleDir(): string {
  const dir = fileURLToPath(new URL('./dashboard-app/', import.meta.url));
  if (!existsSync(join(dir, 'server.mjs'))) {
    throw new LocalClusterError(`The dashboard bundle is missing (${dir}).`, { hint: 'Build @local-cluster/addons (npm run build).' });
  }
  return dir;
}

let runtime: { path: string; sha256: string; version: string } | undefined;

/** The Node runtime of the `node` npm package (its platform package's binary), pinned by checksum. */
export function nodeRuntime(): { path: string; sha256: string; version: string } {
  if (!runtime) {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('node/package.json');
    const path = join(dirname(pkg), 'bin', 'node');
    if (!existsSync(path)) throw new LocalClusterError(`The Node runtime of the "node" npm package is missing (${path}).`, { hint: 'Reinstall the dependencies (npm install) so the node package fetches its binary.' });
    const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
    runtime = { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), version };
  }
  return runtime;
}

export function dashboardImage(): ImageRequirement {
  const node = nodeRuntime();
  const dir = bundleDir();
  const bundle = (file: string) => readFileSync(join(dir, file), 'utf8');
  const app = { 'server.mjs': bundle('server.mjs'), 'app.js': bundle('app.js'), 'index.html': bundle('index.html') };
  const tag = createHash('sha256').update(node.sha256).update(JSON.stringify(app)).digest('hex').slice(0, 12);
  return {
    ref: `docker.io/local-cluster/dashboard:${tag}`,
    loadIntoNodes: 'control-planes',
    recipe: {
      // the Node binary links libstdc++ and libgcc_s dynamically
      debianPackages: ['libstdc++6'],
      files: [
        { path: '/usr/local/bin/node', source: node.path, sha256: node.sha256, mode: 0o755 },
        ...Object.entries(app).map(([file, content]) => ({ path: `/app/${file}`, content })),
      ],
      entrypoint: ['/usr/local/bin/node', '/app/server.mjs'],
      env: { PORT: String(PORT), NODE_ENV: 'production' },
      user: '65532',
      labels: { 'dev.local-cluster.node-version': node.version },
    },
  };
}

/** Read-only: no Secrets, no writes; pods/log for live logs, metrics when metrics-server runs. */
export function dashboardManifest(image: string): object[] {
  const labels = { app: NAME };
  const read = ['get', 'list', 'watch'];
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DASHBOARD_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: DASHBOARD_NAMESPACE } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'local-cluster-dashboard' },
      rules: [
        { apiGroups: [''], resources: ['nodes', 'namespaces', 'pods', 'pods/log', 'services', 'endpoints', 'events', 'configmaps', 'persistentvolumes', 'persistentvolumeclaims', 'replicationcontrollers'], verbs: read },
        { apiGroups: ['apps'], resources: ['deployments', 'daemonsets', 'statefulsets', 'replicasets'], verbs: read },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: read },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: read },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: read },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: read },
        { apiGroups: ['metrics.k8s.io'], resources: ['nodes', 'pods'], verbs: read },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'local-cluster-dashboard' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'local-cluster-dashboard' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: DASHBOARD_NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: DASHBOARD_SERVICE, namespace: DASHBOARD_NAMESPACE, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: PORT }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: DASHBOARD_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          // `up` does not wait for it (BACKGROUND_LABEL): it starts in the seconds after
          metadata: { labels: { ...labels, [BACKGROUND_LABEL]: 'true' } },
          spec: {
            serviceAccountName: NAME,
            // on the control plane(s), the only nodes its image is loaded into
            ...onControlPlanes(),
            containers: [
              {
                name: NAME,
                image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'http', containerPort: PORT }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2 },
                resources: { requests: { cpu: '10m', memory: '40Mi' }, limits: { memory: '256Mi' } },
                securityContext: { runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
  ];
}

/** What the dashboard's local-cluster view shows, left by `up` in kube-system. */
export function clusterInfo(ctx: ClusterContext): object {
  const c = ctx.config.cluster;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: INFO_CONFIGMAP, namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'local-cluster' } },
    data: {
      cluster: c.name,
      cni: c.cniPlugin,
      podSubnet: ctx.podSubnet,
      serviceSubnet: c.serviceSubnet,
      kubeProxyMode: c.kubeProxyMode,
      addons: c.addons.join(', ') || '(none)',
      nodes: ctx.nodes.map((n) => n.hostname).join(', '),
      createdAt: new Date().toISOString(),
      snapshot: '`up` commits every node after it; `down` then `up` restores it (same config).',
    },
  };
}

export function dashboard(): Addon {
  let ref: string | undefined;
  const image = () => {
    const img = dashboardImage();
    ref = img.ref;
    return img;
  };
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'dashboard',
    // objects only; the pods schedule once the control plane is Ready
    installAfter: 'kubeadm-init',
    images: () => [image()],
    async install(ctx) {
      await ctx.apply([clusterInfo(ctx), ...dashboardManifest(ref ?? image().ref)]);
    },
  };
}

export default dashboard;
