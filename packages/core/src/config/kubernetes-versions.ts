import semver from 'semver';

/** The oldest Kubernetes release the node image recipes build and run. */
export const MIN_KUBERNETES_VERSION = 'v1.32.0';
/** From this minor on, the node image runs containerd 2 (built from Go modules) instead of Debian's 1.6. */
export const CONTAINERD2_FROM = 'v1.36.0';
/** From this minor on, the kubelet refuses cgroup v1 hosts unless failCgroupV1 is false. */
export const FAIL_CGROUP_V1_FROM = 'v1.35.0';


/** Why a version string cannot be used at all (malformed or too old); undefined when it can. */
export function kubernetesVersionProblem(version: string): string | undefined {
  if (!/^v\d+\.\d+\.\d+$/.test(version) || semver.valid(version) === null) return 'must be a Kubernetes release version such as v1.36.3';
  if (semver.lt(version, MIN_KUBERNETES_VERSION)) return `must be ${MIN_KUBERNETES_VERSION} or newer (the node image recipes build and run Kubernetes ${MIN_KUBERNETES_VERSION.replace(/\.0$/, '')} and later)`;
  return undefined;
}

/** The containerd major a node image of this Kubernetes release runs. */
export function containerdMajorFor(version: string): 1 | 2 {
  return semver.gte(version, CONTAINERD2_FROM) ? 2 : 1;
}

/** Whether the kubelet of this release refuses cgroup v1 by default (and gets failCgroupV1: false here). */
export function kubeletFailsCgroupV1(version: string): boolean {
  return semver.gte(version, FAIL_CGROUP_V1_FROM);
}

