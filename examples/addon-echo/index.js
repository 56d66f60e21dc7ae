// An example third-party addon for local-cluster. Name it in the config
// (`cluster.addons: [local-cluster-addon-echo]`) once the package is installed next to it.
// The contract: apiVersion local-cluster.dev/addon/v1, kind addon, name, install, and optional
// images (built offline by the image factory from a recipe), dependsOn and waitReady.

export const NAMESPACE = 'echo';
export const IMAGE = 'docker.io/local-cluster-example/echo:1';

/** A busybox httpd serving one page: everything comes from Debian's busybox-static, nothing is pulled. */
export function images() {
  return [
    {
      ref: IMAGE,
      recipe: {
        shell: true,
        files: [{ path: '/www/index.html', content: 'echo from a third-party addon\n' }],
        entrypoint: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
        user: '65534',
      },
    },
  ];
}

export function manifest(replicas = 1) {
  const labels = { app: 'echo' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo', namespace: NAMESPACE, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
            containers: [{ name: 'echo', image: IMAGE, imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: NAMESPACE }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
  ];
}

/** The addon. `options.replicas` is for library users who construct it themselves. */
export default function echo(options = {}) {
  return {
    apiVersion: 'local-cluster.dev/addon/v1',
    kind: 'addon',
    name: 'echo',
    images,
    async install(ctx) {
      await ctx.apply(manifest(options.replicas ?? 1));
    },
    async waitReady(ctx) {
      await ctx.waitForRollout('deployment', NAMESPACE, 'echo', { timeoutSeconds: 120 });
    },
  };
}
