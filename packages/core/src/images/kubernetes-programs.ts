import type { GoBinary } from '../contracts/image.js';

// The Kubernetes program builder: any main or test package of k8s.io/kubernetes as a GoBinary the
// image factory builds (the node image's programs, kubemark, the upstream test binaries).

/** Kubernetes' own release build tags (hack/lib/golang.sh). */
const KUBERNETES_TAGS = ['selinux', 'notest', 'grpcnotrace'];

/** v1.34.4 -> { minor: '34', staging: 'v0.34.4' }: the staging modules (k8s.io/api, ...) are tagged v0.<minor>.<patch>. */
export function kubernetesRelease(version: string): { minor: string; staging: string } {
  const m = /^v1\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes release version: ${version}`);
  return { minor: m[1]!, staging: `v0.${m[1]}.${m[2]}${m[3] ?? ''}` };
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
