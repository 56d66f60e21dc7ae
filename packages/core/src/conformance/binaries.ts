import type { GoBinary } from '../contracts/image.js';

/** Kubernetes' own release build tags (hack/lib/golang.sh). */
const KUBERNETES_TAGS = ['selinux', 'notest', 'grpcnotrace'];

/** v1.34.4 -> { minor: '34', staging: 'v0.34.4' }: the staging modules (k8s.io/api, ...) are tagged v0.<minor>.<patch>. */
export function kubernetesRelease(version: string): { minor: string; staging: string } {
  const m = /^v1\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes release version: ${version}`);
  return { minor: m[1]!, staging: `v0.${m[1]}.${m[2]}${m[3] ?? ''}` };
}

/** The ginkgo v2 version a Kubernetes release's go.mod pins. */
export function pinnedGinkgo(goMod: string): string | undefined {
  return /^\s*github\.com\/onsi\/ginkgo\/v2\s+(v\S+)/m.exec(goMod)?.[1];
}

/** A main or test package of k8s.io/kubernetes, built the way its go.mod intends (staging modules at the matching versions). */
export function kubernetesProgram(version: string, pkg: string, binary: string, extra: Partial<GoBinary> = {}): GoBinary {
  const { minor, staging } = kubernetesRelease(version);
  const ldflags: string[] = [];
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    ldflags.push(`-X ${p}.gitVersion=${version}`, `-X ${p}.gitMajor=1`, `-X ${p}.gitMinor=${minor}`, `-X ${p}.gitTreeState=clean`);
  }
  return {
    module: 'k8s.io/kubernetes',
    version,
    package: pkg,
    binary,
    inTreeReplacesAt: staging,
    tags: KUBERNETES_TAGS,
    ...extra,
    ldflags: [...ldflags, ...(extra.ldflags ?? [])],
  };
}

/** The `ginkgo` runner at the version a Kubernetes release's go.mod pins. */
export function ginkgoBinary(version: string, goMod: string): GoBinary {
  const ginkgo = pinnedGinkgo(goMod);
  if (!ginkgo) throw new Error(`k8s.io/kubernetes ${version}'s go.mod pins no github.com/onsi/ginkgo/v2`);
  return { module: 'github.com/onsi/ginkgo/v2', version: ginkgo, package: 'ginkgo', binary: 'ginkgo' };
}

/** `e2e.test` (the conformance suite) and the `ginkgo` runner at the version the release pins. */
export function e2eBinaries(version: string, goMod: string): GoBinary[] {
  return [kubernetesProgram(version, 'test/e2e', 'e2e.test', { test: true }), ginkgoBinary(version, goMod)];
}

/**
 * `e2e_node.test` (the node e2e suite: it starts etcd, an API server and a namespace
 * controller in its own process and a kubelet from --k8s-bin-dir) and the `ginkgo`
 * runner at the version the release pins.
 */
export function nodeE2eBinaries(version: string, goMod: string): GoBinary[] {
  return [kubernetesProgram(version, 'test/e2e_node', 'e2e_node.test', { test: true }), ginkgoBinary(version, goMod)];
}
