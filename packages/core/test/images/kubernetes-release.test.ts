import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configSchema,
  containerdMajorFor,
  goDirective,
  goToolchainFor,
  importedModules,
  isConfigError,
  kubeletFailsCgroupV1,
  kubernetesVersionProblem,
  parseGoJsonStream,
  parseKubeadmConstants,
  resolveKubernetesRelease,
  stagingRequirements,
  withStagingDependencies,
} from '../../src/index.js';

// the shape of cmd/kubeadm/app/constants/constants.go (values of v1.36.3)
const CONSTANTS = `package constants

const (
	// DefaultEtcdVersion indicates the default etcd version that kubeadm uses
	DefaultEtcdVersion = "3.6.8-0"

	// CoreDNSVersion is the version of CoreDNS to be deployed if it is used
	CoreDNSVersion = "v1.14.2"

	// PauseVersion indicates the default pause image version for kubeadm
	PauseVersion = "3.10.2"
)
`;

describe('Kubernetes version checks', () => {
  it('accepts releases from v1.32.0 on and names the problem otherwise', () => {
    for (const v of ['v1.32.0', 'v1.34.4', 'v1.36.3', 'v1.37.2', 'v1.40.0']) expect(kubernetesVersionProblem(v)).toBeUndefined();
    expect(kubernetesVersionProblem('v1.31.0')).toContain('must be v1.32.0 or newer');
    expect(kubernetesVersionProblem('v1.31.14')).toContain('must be v1.32.0 or newer');
    for (const v of ['garbage', '1.36.3', 'v1.36', 'v1.36.3-rc.0', 'v1.36.03', '']) expect(kubernetesVersionProblem(v)).toContain('must be a Kubernetes release version');
  });

  it('the config schema refuses them with the setting named', () => {
    expect(configSchema.parse({ source: { kubernetesVersion: 'v1.36.3' } }).source.kubernetesVersion).toBe('v1.36.3');
    const old = configSchema.safeParse({ source: { kubernetesVersion: 'v1.31.0' } });
    expect(old.success).toBe(false);
    expect(old.error!.issues[0]!.path).toEqual(['source', 'kubernetesVersion']);
    expect(old.error!.issues[0]!.message).toContain('v1.32.0 or newer');
    expect(configSchema.safeParse({ source: { kubernetesVersion: 'garbage' } }).success).toBe(false);
  });

  it('containerd 2 from v1.36, failCgroupV1 from v1.35', () => {
    expect(containerdMajorFor('v1.34.4')).toBe(1);
    expect(containerdMajorFor('v1.35.4')).toBe(1);
    expect(containerdMajorFor('v1.36.0')).toBe(2);
    expect(containerdMajorFor('v1.37.2')).toBe(2);
    expect(kubeletFailsCgroupV1('v1.34.4')).toBe(false);
    expect(kubeletFailsCgroupV1('v1.35.0')).toBe(true);
    expect(kubeletFailsCgroupV1('v1.36.3')).toBe(true);
  });
});

describe('kubeadm constants', () => {
  it('reads etcd, CoreDNS and pause versions', () => {
    expect(parseKubeadmConstants(CONSTANTS)).toEqual({ etcd: '3.6.8', coredns: 'v1.14.2', pause: '3.10.2' });
  });

  it('names a constant it cannot find or understand', () => {
    expect(() => parseKubeadmConstants(CONSTANTS.replace(/\tCoreDNSVersion.*\n/, ''), 'x/constants.go')).toThrow(/x\/constants\.go: no CoreDNSVersion constant/);
    expect(() => parseKubeadmConstants(CONSTANTS.replace('"3.6.8-0"', '"latest"'))).toThrow(/DefaultEtcdVersion.*"latest"/);
  });
});

describe('Go toolchain per release', () => {
  it('keeps the local Go when it is new enough, else names the go directive', () => {
    expect(goDirective('module k8s.io/kubernetes\n\ngo 1.26.0\n\ngodebug default=go1.26\n')).toBe('1.26.0');
    expect(goToolchainFor('module m\n\ngo 1.26.0\n', 'go1.26.8')).toBeUndefined();
    expect(goToolchainFor('module m\n\ngo 1.24.0\n', 'go1.26.8')).toBeUndefined();
    expect(goToolchainFor('module m\n\ngo 1.27.0\n', 'go1.26.8')).toBe('go1.27.0');
    expect(goToolchainFor('module m\n\ngo 1.26.10\n', 'go1.26.8')).toBe('go1.26.10');
    expect(goToolchainFor('module m\n\ngo 1.26\n', 'go1.25.9')).toBe('go1.26');
    expect(goToolchainFor('module m\n', 'go1.26.8')).toBeUndefined();
  });
});

// the shape of a release's go.mod (k8s.io/kubernetes v1.32.13's, shortened): staging modules required
// as v0.0.0 and replaced by their directories under ./staging, which the build takes from the proxy at v0.32.13
const GO_MOD = `// This is a generated file. Do not edit directly.
// https://git.k8s.io/community/contributors/devel/sig-architecture/vendor.md

module k8s.io/kubernetes

go 1.23.0

godebug default=go1.23

require (
	github.com/onsi/ginkgo/v2 v2.21.0
	go.etcd.io/etcd/api/v3 v3.5.16
	k8s.io/api v0.0.0
	k8s.io/apimachinery v0.0.0
	k8s.io/endpointslice v0.0.0
	k8s.io/klog/v2 v2.130.1
	k8s.io/kube-openapi v0.0.0-20241105132330-32ad38e42d3f
	k8s.io/system-validators v1.9.2
	k8s.io/utils v0.0.0-20241104100929-3ea5e8cea738
	sigs.k8s.io/yaml v1.4.0
)

require (
	example.com/other v0.32.13 // indirect
	k8s.io/gengo/v2 v2.0.0-20240911193312-2b36238f13e9 // indirect
	k8s.io/kms v0.0.0 // indirect
	k8s.io/older v0.32.12 // indirect
	k8s.io/pinned v0.32.13 // indirect
)

require k8s.io/single v0.32.13

require k8s.io/cri-api v0.0.0 // a comment

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apimachinery => ./staging/src/k8s.io/apimachinery
	k8s.io/endpointslice => ./staging/src/k8s.io/endpointslice
	k8s.io/kms => ./staging/src/k8s.io/kms
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
)

replace k8s.io/cri-api => ./staging/src/k8s.io/cri-api
`;

describe('staging modules of a release', () => {
  it('takes the k8s.io requirements at the staging version or replaced in-tree, single-line and in blocks', () => {
    expect(stagingRequirements(GO_MOD, 'v0.32.13')).toEqual([
      'k8s.io/api',
      'k8s.io/apimachinery',
      'k8s.io/endpointslice',
      'k8s.io/kms',
      'k8s.io/pinned',
      'k8s.io/single',
      'k8s.io/cri-api',
    ]);
  });

  it('leaves out other k8s.io modules, other versions, modules not required and modules outside k8s.io', () => {
    const modules = stagingRequirements(GO_MOD, 'v0.32.13');
    for (const m of ['k8s.io/klog/v2', 'k8s.io/utils', 'k8s.io/kube-openapi', 'k8s.io/system-validators', 'k8s.io/gengo/v2', 'k8s.io/older', 'k8s.io/sample-controller', 'example.com/other', 'k8s.io/kubernetes']) {
      expect(modules).not.toContain(m);
    }
    expect(stagingRequirements('module m\n\nrequire k8s.io/x v0.32.13\n', 'v0.32.13')).toEqual(['k8s.io/x']);
    expect(stagingRequirements('module m\n\nrequire k8s.io/x v0.32.13\n', 'v0.34.4')).toEqual([]);
    expect(stagingRequirements('module m\n\nrequire (\n\tk8s.io/klog/v2 v2.130.1\n\tk8s.io/utils v0.0.0-20241104100929-3ea5e8cea738\n)\n', 'v0.32.13')).toEqual([]);
    expect(stagingRequirements('module m\n', 'v0.32.13')).toEqual([]);
  });
});

describe('staging modules a release imports', () => {
  const candidates = new Set(['k8s.io/api', 'k8s.io/apimachinery', 'k8s.io/client-go', 'k8s.io/endpointslice', 'k8s.io/sample-apiserver']);

  it('finds staging modules in import paths, whole module names only', () => {
    const src = 'import (\n\t"k8s.io/api/core/v1"\n\t"k8s.io/endpointslice"\n\t"k8s.io/apimachineryx/y"\n\t"k8s.io/klog/v2"\n)\n';
    expect([...importedModules(src, candidates)].sort()).toEqual(['k8s.io/api', 'k8s.io/endpointslice']);
  });

  it('adds what needed modules depend on, transitively, over every branch of the publishing rules, and only candidates', () => {
    const rules = `rules:
- destination: endpointslice
  branches:
  - name: master
    dependencies:
    - repository: client-go
  - name: release-1.33
    dependencies:
    - repository: api
- destination: client-go
  branches:
  - name: master
    dependencies:
    - repository: apimachinery
    - repository: not-a-candidate
- destination: sample-apiserver
  branches:
  - name: master
    dependencies:
    - repository: api
`;
    expect([...withStagingDependencies(new Set(['k8s.io/endpointslice']), rules, candidates)].sort()).toEqual(['k8s.io/api', 'k8s.io/apimachinery', 'k8s.io/client-go', 'k8s.io/endpointslice']);
  });
});

describe('go mod download -json output', () => {
  it('reads every object of the concatenated stream, nested objects and braces in strings included', () => {
    const out = `{
\t"Path": "k8s.io/endpointslice",
\t"Version": "v0.32.13",
\t"Error": "k8s.io/endpointslice@v0.32.13: reading https://proxy/k8s.io/endpointslice/@v/v0.32.13.zip: 403 Forbidden\\n\\tserver response: This module version is not available.",
\t"Origin": {
\t\t"VCS": "git",
\t\t"Ref": "refs/tags/v0.32.13 {\\"}"
\t}
}
{
\t"Path": "k8s.io/api",
\t"Version": "v0.32.13",
\t"Dir": "/root/go/pkg/mod/k8s.io/api@v0.32.13"
}
`;
    const objects = parseGoJsonStream<{ Path: string; Dir?: string; Error?: string }>(out);
    expect(objects.map((o) => o.Path)).toEqual(['k8s.io/endpointslice', 'k8s.io/api']);
    expect(objects[0]!.Error).toContain('403 Forbidden\n\tserver response');
    expect(objects[1]!.Dir).toBe('/root/go/pkg/mod/k8s.io/api@v0.32.13');
    expect(parseGoJsonStream('')).toEqual([]);
    expect(parseGoJsonStream('{"Path":"a"}\n{"Path":')).toEqual([{ Path: 'a' }]);
  });
});

/**
 * A stand-in `go` (unit tests only): serves one k8s.io/kubernetes version from a fake module directory
 * (its go.mod: goLine plus `goModRest`), every other module asked for except those in `refused`
 * (a 403 on the zip, as the proxy answers); each `go mod download` call is logged to `calls`.
 */
function fakeGo(served: string, goLine: string, goModRest = '', refused: string[] = [], files: Record<string, string> = {}): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'lc-fake-go-'));
  const mod = join(dir, 'mod');
  mkdirSync(join(mod, 'cmd/kubeadm/app/constants'), { recursive: true });
  writeFileSync(join(mod, 'cmd/kubeadm/app/constants/constants.go'), CONSTANTS);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(mod, path, '..'), { recursive: true });
    writeFileSync(join(mod, path), text);
  }
  writeFileSync(join(dir, 'go.mod'), `module k8s.io/kubernetes\n\ngo ${goLine}\n${goModRest}`);
  writeFileSync(join(dir, 'calls'), '');
  const go = join(dir, 'go');
  writeFileSync(
    go,
    `#!/bin/sh
if [ "$1" = env ]; then echo go1.26.8; exit 0; fi
shift 3 # mod download -json
echo "$*" >>"${dir}/calls"
rc=0
for m in "$@"; do
  case " ${refused.join(' ')} " in *" $m "*)
    printf '{\\n\\t"Path": "%s",\\n\\t"Version": "%s",\\n\\t"Error": "%s: reading https://proxy/%s/@v/%s.zip: 403 Forbidden\\\\n\\\\tserver response: This module version is not available.",\\n\\t"Origin": {\\n\\t\\t"VCS": "git"\\n\\t}\\n}\\n' "\${m%@*}" "\${m#*@}" "$m" "\${m%@*}" "\${m#*@}"
    rc=1; continue ;;
  esac
  case "$m" in
    k8s.io/kubernetes@${served}) printf '{"Path":"k8s.io/kubernetes","Version":"${served}","Dir":"${mod}","GoMod":"${dir}/go.mod"}\\n' ;;
    k8s.io/kubernetes@*) printf '{"Path":"k8s.io/kubernetes","Version":"%s","Error":"%s: reading https://proxy/k8s.io/kubernetes/@v/%s.info: 403 Forbidden\\\\n\\\\tserver response: This module version is not available."}\\n' "\${m#*@}" "$m" "\${m#*@}"; rc=1 ;;
    *) printf '{\\n\\t"Path": "%s",\\n\\t"Version": "%s",\\n\\t"Dir": "/fake/%s"\\n}\\n' "\${m%@*}" "\${m#*@}" "$m" ;;
  esac
done
exit $rc
`,
  );
  chmodSync(go, 0o755);
  return { env: { ...process.env, GO: go }, calls: () => readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean) };
}

/** The error resolveKubernetesRelease refuses a version with: a ConfigError naming the setting. */
async function refusal(version: string, env: NodeJS.ProcessEnv): Promise<Error & { setting?: string; hint?: string }> {
  const error = await resolveKubernetesRelease(version, { env }).catch((e: unknown) => e);
  expect(isConfigError(error)).toBe(true);
  const e = error as Error & { setting?: string; hint?: string };
  expect(e.setting).toBe('source.kubernetesVersion');
  return e;
}

describe('resolveKubernetesRelease', () => {
  it('reads what the build needs from the served module', async () => {
    const { env } = fakeGo('v1.36.3', '1.27.0');
    const release = await resolveKubernetesRelease('v1.36.3', { env });
    expect(release.images).toEqual({ etcd: '3.6.8', coredns: 'v1.14.2', pause: '3.10.2' });
    expect(release.go).toBe('1.27.0');
    expect(release.toolchain).toBe('go1.27.0');
    expect(release.localGo).toBe('go1.26.8');
    expect(release.containerd).toBe(2);
  });

  it('a version the proxy does not serve is a ConfigError naming the setting and how to list versions', async () => {
    const { env } = fakeGo('v1.36.3', '1.26.0');
    const e = await refusal('v1.36.99', env);
    expect(e.message).toContain('--kubernetes-version');
    expect(e.message).toContain('does not serve k8s.io/kubernetes@v1.36.99');
    expect(e.message).toContain('This module version is not available');
    expect(e.hint).toContain('go list -m -versions k8s.io/kubernetes');
  });

  it('asks the proxy for the staging modules in one go call, at the staging version', async () => {
    const { env, calls } = fakeGo('v1.32.13', '1.23.0', GO_MOD.slice(GO_MOD.indexOf('require (')));
    const release = await resolveKubernetesRelease('v1.32.13', { env });
    expect(release.version).toBe('v1.32.13');
    expect(calls()).toEqual([
      'k8s.io/kubernetes@v1.32.13',
      'k8s.io/api@v0.32.13 k8s.io/apimachinery@v0.32.13 k8s.io/endpointslice@v0.32.13 k8s.io/kms@v0.32.13 k8s.io/pinned@v0.32.13 k8s.io/single@v0.32.13 k8s.io/cri-api@v0.32.13',
    ]);
  });

  it('a staging module the proxy refuses is a ConfigError naming it, the version and the reason', async () => {
    const { env } = fakeGo('v1.32.13', '1.23.0', GO_MOD.slice(GO_MOD.indexOf('require (')), ['k8s.io/endpointslice@v0.32.13', 'k8s.io/kms@v0.32.13']);
    const e = await refusal('v1.32.13', env);
    expect(e.message).toContain('--kubernetes-version) v1.32.13');
    expect(e.message).toContain('serves k8s.io/kubernetes@v1.32.13 but not k8s.io/endpointslice@v0.32.13 (server response: This module version is not available.), k8s.io/kms@v0.32.13 (');
    expect(e.message).not.toContain('k8s.io/api@');
    expect(e.hint).toContain('Pick another release');
    expect(e.hint).toContain('go list -m -versions k8s.io/kubernetes');
  });

  it('asks only for the staging modules the release imports (non-test code) and what they depend on by its publishing rules', async () => {
    const files = {
      'pkg/controller/endpointslice/controller.go': 'package endpointslice\n\nimport (\n\t"k8s.io/endpointslice/topologycache"\n\tv1 "k8s.io/api/core/v1"\n)\n',
      // a test file's imports do not count: the build never compiles it
      'pkg/controller/endpointslice/controller_test.go': 'package endpointslice\n\nimport "k8s.io/kms/apis/v1"\n',
      'staging/publishing/rules.yaml': 'rules:\n- destination: endpointslice\n  branches:\n  - name: master\n    dependencies:\n    - repository: apimachinery\n      branch: master\n',
    };
    const { env, calls } = fakeGo('v1.33.13', '1.24.0', GO_MOD.slice(GO_MOD.indexOf('require (')), ['k8s.io/kms@v0.33.13'], files);
    await resolveKubernetesRelease('v1.33.13', { env });
    expect(calls()).toEqual(['k8s.io/kubernetes@v1.33.13', 'k8s.io/api@v0.33.13 k8s.io/apimachinery@v0.33.13 k8s.io/endpointslice@v0.33.13']);
  });

  it('answers a second time from memory (preflight and the image build both ask), but asks again after a refusal', async () => {
    const { env, calls } = fakeGo('v1.36.3', '1.26.0', 'require k8s.io/klog/v2 v2.130.1\n');
    const first = await resolveKubernetesRelease('v1.36.3', { env });
    expect(await resolveKubernetesRelease('v1.36.3', { env })).toBe(first);
    expect(calls()).toEqual(['k8s.io/kubernetes@v1.36.3']);
    await refusal('v1.36.99', env);
    await refusal('v1.36.99', env);
    expect(calls()).toEqual(['k8s.io/kubernetes@v1.36.3', 'k8s.io/kubernetes@v1.36.99', 'k8s.io/kubernetes@v1.36.99']);
  });

  it('a release whose go.mod names no staging module makes no second go call', async () => {
    const { env, calls } = fakeGo('v1.36.3', '1.26.0', 'require k8s.io/klog/v2 v2.130.1\n');
    await resolveKubernetesRelease('v1.36.3', { env });
    expect(calls()).toEqual(['k8s.io/kubernetes@v1.36.3']);
  });

  it('refuses malformed and too old versions before asking the proxy', async () => {
    const env = { ...process.env, GO: '/nonexistent/go' };
    await expect(resolveKubernetesRelease('v1.31.0', { env })).rejects.toThrow(/source\.kubernetesVersion.*v1\.31\.0 must be v1\.32\.0 or newer/);
    await expect(resolveKubernetesRelease('garbage', { env })).rejects.toThrow(/must be a Kubernetes release version/);
  });
});
