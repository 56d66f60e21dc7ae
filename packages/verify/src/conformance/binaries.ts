import { kubernetesProgram, type GoBinary } from '@local-cluster/core';

/** The ginkgo v2 version a Kubernetes release's go.mod pins. */
export function pinnedGinkgo(goMod: string): string | undefined {
  return /^\s*github\.com\/onsi\/ginkgo\/v2\s+(v\S+)/m.exec(goMod)?.[1];
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
