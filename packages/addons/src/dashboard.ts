import { ADDON_API_VERSION, waitFor, type Addon } from '@local-cluster/core';

/** Kubernetes Dashboard v2.7.0: the last release installed by manifest (v7+ is Helm-only). */
export const DASHBOARD_IMAGES = ['docker.io/kubernetesui/dashboard:v2.7.0', 'docker.io/kubernetesui/metrics-scraper:v1.0.8'];

/**
 * The dashboard addon: images, manifest, readiness. Its images have no offline
 * build yet; preflight names them when they are not in the engine.
 */
export function dashboard(): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'dashboard',
    images: () => DASHBOARD_IMAGES.map((ref) => ({ ref })),
    async install() {
      throw new Error('the dashboard manifest is not bundled yet');
    },
    async waitReady(ctx) {
      await waitFor(
        'the dashboard deployment',
        async () => {
          const ready = await ctx.kubectl(['-n', 'kubernetes-dashboard', 'get', 'deploy', 'kubernetes-dashboard', '-o', 'jsonpath={.status.readyReplicas}']);
          return Number(ready) > 0 ? true : undefined;
        },
        { timeoutMs: 180_000, signal: ctx.signal },
      );
    },
  };
}

export default dashboard;
