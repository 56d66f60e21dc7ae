import { ADDON_API_VERSION, BACKGROUND_LABEL, type Addon, type ImageRequirement } from '@local-cluster/core';
import { onControlPlanes } from './placement.js';

/**
 * Resource metrics for `kubectl top` and autoscalers: sigs.k8s.io/metrics-server, built from its
 * Go module with CGO off (v0.8.0: v0.9.0 needs a newer Go than these machines have). The image
 * name is upstream's, so a pulled upstream image is used as is.
 */
export const METRICS_SERVER_MODULE = 'sigs.k8s.io/metrics-server';
export const METRICS_SERVER_VERSION = 'v0.8.0';
export const METRICS_SERVER_IMAGE = `registry.k8s.io/metrics-server/metrics-server:${METRICS_SERVER_VERSION}`;

const NAME = 'metrics-server';
const NAMESPACE = 'kube-system';

export function metricsServerImages(): ImageRequirement[] {
  return [
    {
      ref: METRICS_SERVER_IMAGE,
      loadIntoNodes: 'control-planes',
      recipe: {
        go: [
          {
            module: METRICS_SERVER_MODULE,
            version: METRICS_SERVER_VERSION,
            package: 'cmd/metrics-server',
            binary: NAME,
            // what its Makefile sets (the version reported by /version and the logs)
            ldflags: [`-X k8s.io/client-go/pkg/version.gitVersion=${METRICS_SERVER_VERSION}`],
          },
        ],
        entrypoint: [`/usr/local/bin/${NAME}`],
      },
    },
  ];
}

/**
 * RBAC, Service, APIService and Deployment. The kubelets' serving certificates are
 * self-signed (kubeadm's default), so metrics-server skips verifying them with
 * --kubelet-insecure-tls, as kind's and minikube's users do; the kubelets still
 * authenticate and authorize metrics-server's own requests.
 */
export function metricsServerManifest(): object[] {
  const labels = { 'k8s-app': NAME };
  const rbac = 'rbac.authorization.k8s.io/v1';
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: NAMESPACE, labels } },
    {
      // what `kubectl top` users need: aggregated into view, edit and admin
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: {
        name: 'system:aggregated-metrics-reader',
        labels: { ...labels, 'rbac.authorization.k8s.io/aggregate-to-admin': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
      },
      rules: [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: `system:${NAME}`, labels },
      rules: [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: `${NAME}-auth-reader`, namespace: NAMESPACE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: `${NAME}:system:auth-delegator`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: `system:${NAME}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `system:${NAME}` },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAME, namespace: NAMESPACE, labels },
      spec: { selector: labels, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https', appProtocol: 'https' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: NAMESPACE, labels },
      spec: {
        selector: { matchLabels: labels },
        strategy: { rollingUpdate: { maxUnavailable: 0 } },
        template: {
          // `up` does not wait for it: Ready after its first scrape, which nothing at `up`'s return needs
          metadata: { labels: { ...labels, [BACKGROUND_LABEL]: 'true' } },
          spec: {
            serviceAccountName: NAME,
            priorityClassName: 'system-cluster-critical',
            // on the control plane(s), the only nodes its image is loaded into
            ...onControlPlanes(),
            containers: [
              {
                name: NAME,
                image: METRICS_SERVER_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                args: [
                  '--cert-dir=/tmp',
                  '--secure-port=10250',
                  '--kubelet-preferred-address-types=InternalIP',
                  '--kubelet-use-node-status-port',
                  '--kubelet-insecure-tls',
                  // the shortest it allows (the first scrape, so readiness, comes sooner); the
                  // kubelet request timeout must stay under 90% of it
                  '--metric-resolution=10s',
                  '--kubelet-request-timeout=5s',
                ],
                ports: [{ name: 'https', containerPort: 10250, protocol: 'TCP' }],
                resources: { requests: { cpu: '50m', memory: '50Mi' } },
                readinessProbe: { httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' }, periodSeconds: 2, failureThreshold: 3, initialDelaySeconds: 5 },
                livenessProbe: { httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' }, periodSeconds: 10, failureThreshold: 3 },
                securityContext: { readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'tmp-dir', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp-dir', emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io', labels },
      spec: {
        service: { name: NAME, namespace: NAMESPACE },
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  ];
}

/** The `metrics-server` addon: `kubectl top nodes` and `kubectl top pods`. */
export function metricsServer(): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'metrics-server',
    // objects only; the pods schedule once the control plane is Ready
    installAfter: 'kubeadm-init',
    images: () => metricsServerImages(),
    // no waitReady: `up` does not wait for its first scrape (`kubectl top` answers 10-20 s later);
    // `addon` and a test that needs it wait with `waitForRollout`
    async install(ctx) {
      await ctx.apply(metricsServerManifest());
    },
  };
}

export default metricsServer;
