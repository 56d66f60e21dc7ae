/** What the dashboard's server forwards: reads of the Kubernetes API only (GET /api, /apis, /version). */
export function allowed(method: string, path: string): boolean {
  return method === 'GET' && /^\/(api|apis|version)(\/|$|\?)/.test(path) && !path.includes('..');
}

/** The ConfigMap (kube-system) where `up` leaves what the dashboard's local-cluster view shows. */
export const INFO_CONFIGMAP = 'local-cluster-info';
/** The ConfigMap (kube-system) where `local-cluster check` leaves its latest results (core's CHECKS_CONFIGMAP; this file is bundled into the page, so it does not import core). */
export const CHECKS_CONFIGMAP = 'local-cluster-checks';
