import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configSchema,
  containerdMajorFor,
  goDirective,
  goToolchainFor,
  isConfigError,
  kubeletFailsCgroupV1,
  kubernetesVersionProblem,
  parseKubeadmConstants,
  resolveKubernetesRelease,
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

/** A stand-in `go` (unit tests only): serves one module version from a fake module directory. */
function fakeGo(served: string, goLine: string): { env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'lc-fake-go-'));
  const mod = join(dir, 'mod');
  mkdirSync(join(mod, 'cmd/kubeadm/app/constants'), { recursive: true });
  writeFileSync(join(mod, 'cmd/kubeadm/app/constants/constants.go'), CONSTANTS);
  writeFileSync(join(dir, 'go.mod'), `module k8s.io/kubernetes\n\ngo ${goLine}\n`);
  const go = join(dir, 'go');
  writeFileSync(
    go,
    `#!/bin/sh
if [ "$1" = env ]; then echo go1.26.8; exit 0; fi
if [ "$4" = "k8s.io/kubernetes@${served}" ]; then
  printf '{"Path":"k8s.io/kubernetes","Version":"${served}","Dir":"${mod}","GoMod":"${dir}/go.mod"}\\n'; exit 0
fi
printf '{"Path":"k8s.io/kubernetes","Version":"%s","Error":"%s: reading https://proxy/k8s.io/kubernetes/@v/%s.info: 403 Forbidden\\\\n\\\\tserver response: This module version is not available."}\\n' "\${4#*@}" "$4" "\${4#*@}"
exit 1
`,
  );
  chmodSync(go, 0o755);
  return { env: { ...process.env, GO: go } };
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
    const error = await resolveKubernetesRelease('v1.36.99', { env }).catch((e: unknown) => e);
    expect(isConfigError(error)).toBe(true);
    const e = error as Error & { setting?: string; hint?: string };
    expect(e.setting).toBe('source.kubernetesVersion');
    expect(e.message).toContain('--kubernetes-version');
    expect(e.message).toContain('does not serve k8s.io/kubernetes@v1.36.99');
    expect(e.message).toContain('This module version is not available');
    expect(e.hint).toContain('go list -m -versions k8s.io/kubernetes');
  });

  it('refuses malformed and too old versions before asking the proxy', async () => {
    const env = { ...process.env, GO: '/nonexistent/go' };
    await expect(resolveKubernetesRelease('v1.31.0', { env })).rejects.toThrow(/source\.kubernetesVersion.*v1\.31\.0 must be v1\.32\.0 or newer/);
    await expect(resolveKubernetesRelease('garbage', { env })).rejects.toThrow(/must be a Kubernetes release version/);
  });
});
