import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goBinaryProblems, goBuildArgs } from '@local-cluster/core';
import {
  containerd2Versions, containerdBinaries, corednsBinary, etcdBinaries, KUBERNETES_BINARIES, kubeadmMismatches, kubernetesBinaries, moduleTime,
  nodeBinaryRecipes, normaliseVersions, parseVersionsFile, pinnedVersions, RECIPES_DIR, releaseVersions, runcBinary,
} from '../src/index.js';

const seccomp = { version: '2.5.4-1+deb12u1', root: '/c/libseccomp-2.5.4-1+deb12u1/root', lib: '/c/libseccomp-2.5.4-1+deb12u1/root/usr/lib/x86_64-linux-gnu' };

describe('node image programs as Go recipes', () => {
  it('every recipe is a valid GoBinary', () => {
    const all = [
      ...nodeBinaryRecipes(pinnedVersions(RECIPES_DIR), containerd2Versions(RECIPES_DIR)),
      ...kubernetesBinaries('v1.36.3', { buildDate: '2026-01-01T00:00:00Z', toolchain: 'go1.27.0' }),
      runcBinary('v1.5.2', seccomp, { toolchain: 'go1.27.0' }),
    ];
    for (const b of all) expect(goBinaryProblems(b), b.binary).toEqual([]);
  });

  it('builds the Kubernetes programs like a release: tags, version stamps, commit time, empty gitCommit unless known', () => {
    const bins = kubernetesBinaries('v1.34.4', { buildDate: '2026-02-10T12:53:36Z' });
    expect(bins.map((b) => b.binary)).toEqual([...KUBERNETES_BINARIES]);
    const kubelet = bins.find((b) => b.binary === 'kubelet')!;
    expect(kubelet).toMatchObject({ module: 'k8s.io/kubernetes', version: 'v1.34.4', package: 'cmd/kubelet', inTreeReplacesAt: 'v0.34.4', tags: ['selinux', 'notest', 'grpcnotrace'] });
    expect(kubelet.env).toBeUndefined();
    for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      expect(kubelet.ldflags).toEqual(expect.arrayContaining([`-X ${p}.gitVersion=v1.34.4`, `-X ${p}.gitMinor=34`, `-X ${p}.buildDate=2026-02-10T12:53:36Z`, `-X ${p}.gitCommit=`]));
    }
    const pinned = kubernetesBinaries('v1.36.3', { buildDate: 'x', gitCommit: 'abc123', toolchain: 'go1.27.0' })[0]!;
    expect(pinned.ldflags).toContain('-X k8s.io/component-base/version.gitCommit=abc123');
    expect(pinned.env).toEqual({ GOTOOLCHAIN: 'go1.27.0' });
  });

  it('builds etcdctl and etcdutl only when the proxy serves etcdutl; each tool is its own main module', () => {
    expect(etcdBinaries('3.6.5', { tools: false })).toEqual([{ module: 'go.etcd.io/etcd/server/v3', version: 'v3.6.5', binary: 'etcd', inTreeReplacesAt: 'v3.6.5' }]);
    expect(etcdBinaries('3.6.5', { tools: true }).map((b) => `${b.module} ${b.binary}`)).toEqual([
      'go.etcd.io/etcd/server/v3 etcd',
      'go.etcd.io/etcd/etcdctl/v3 etcdctl',
      'go.etcd.io/etcd/etcdutl/v3 etcdutl',
    ]);
    expect(corednsBinary('v1.12.1')).toEqual({ module: 'github.com/coredns/coredns', version: 'v1.12.1', binary: 'coredns' });
  });

  it('builds containerd with CGO off and its version stamped; the shim without gRPC', () => {
    const [shim, containerd, ctr] = containerdBinaries('v2.3.7', { toolchain: 'go1.27.0' });
    expect(shim).toMatchObject({ package: 'cmd/containerd-shim-runc-v2', binary: 'containerd-shim-runc-v2', env: { GOTOOLCHAIN: 'go1.27.0' } });
    expect(shim!.tags).toContain('no_grpc');
    expect(containerd!.tags).toEqual(expect.arrayContaining(['no_btrfs', 'no_devmapper', 'no_zfs']));
    expect(ctr!.ldflags).toContain('-X github.com/containerd/containerd/v2/version.Version=v2.3.7');
    expect(containerd!.cgo).toBeUndefined();
  });

  it('builds runc as a static PIE with cgo against the unpacked libseccomp', () => {
    const runc = runcBinary('v1.5.2', seccomp);
    expect(runc).toMatchObject({ cgo: true, buildmode: 'pie', extldflags: '-static-pie', tags: ['seccomp', 'urfave_cli_no_docs', 'netgo', 'osusergo'] });
    expect(runc.env).toEqual({
      CGO_CFLAGS: `-I${seccomp.root}/usr/include`,
      CGO_LDFLAGS: `-L${seccomp.lib}`,
      PKG_CONFIG_PATH: `${seccomp.lib}/pkgconfig`,
      PKG_CONFIG_SYSROOT_DIR: seccomp.root,
    });
    expect(goBuildArgs(runc)).toEqual([
      'build', '-trimpath', '-buildmode=pie', '-tags', 'seccomp,urfave_cli_no_docs,netgo,osusergo',
      '-ldflags', '-s -w -extldflags -static-pie -X main.gitCommit=module-v1.5.2 -linkmode external',
    ]);
  });
});

describe('node image versions', () => {
  it('reads the pinned versions from binaries/versions.env, the one place they are pinned', () => {
    const env = parseVersionsFile(readFileSync(join(RECIPES_DIR, 'binaries', 'versions.env'), 'utf8'));
    const pinned = pinnedVersions(RECIPES_DIR);
    expect(pinned.kubernetes).toBe(env.KUBERNETES_VERSION);
    expect(pinned.etcd).toBe(env.ETCD_VERSION!.replace(/^v/, ''));
    expect(containerd2Versions(RECIPES_DIR).containerd).toMatch(/^v2\./);
  });

  it('parses KEY=value lines, ignoring comments and quotes', () => {
    expect(parseVersionsFile('# c\nA=1\n  B="v2" # note\nlower=x\nC=\n')).toEqual({ A: '1', B: 'v2', C: '' });
  });

  it('normalises and checks versions', () => {
    expect(normaliseVersions({ kubernetes: '1.34.4', etcd: 'v3.6.5', coredns: '1.12.1', pause: '3.10.1' })).toEqual({ kubernetes: 'v1.34.4', etcd: '3.6.5', coredns: 'v1.12.1', pause: '3.10.1' });
    expect(() => normaliseVersions({ kubernetes: 'v1.34.4', etcd: '3.6', coredns: 'v1.12.1', pause: '3.10.1' })).toThrow(/etcd/);
    const release = { version: 'v1.36.3', dir: '/m', go: '1.26.0', localGo: 'go1.26.8', toolchain: undefined, images: { etcd: '3.6.8', coredns: 'v1.14.2', pause: '3.10.2' }, containerd: 2 as const };
    expect(releaseVersions(release)).toEqual({ kubernetes: 'v1.36.3', etcd: '3.6.8', coredns: 'v1.14.2', pause: '3.10.2' });
  });

  it('takes the build date from the module version\'s .info', () => {
    expect(moduleTime('{"Version":"v1.34.4","Time":"2026-02-10T12:53:36Z"}')).toBe('2026-02-10T12:53:36Z');
    expect(moduleTime('not json')).toBeUndefined();
  });

  it('warns when kubeadm asks for other etcd, CoreDNS or pause versions', () => {
    const list = 'registry.k8s.io/kube-apiserver:v1.34.4\nregistry.k8s.io/coredns/coredns:v1.12.1\nregistry.k8s.io/pause:3.10.1\nregistry.k8s.io/etcd:3.6.5-0\n';
    const versions = { kubernetes: 'v1.34.4', etcd: '3.6.5', coredns: 'v1.12.1', pause: '3.10.1' };
    expect(kubeadmMismatches(list, versions)).toEqual([]);
    expect(kubeadmMismatches(list, { ...versions, etcd: '3.6.4', pause: '3.10' })).toEqual([
      'kubeadm v1.34.4 expects registry.k8s.io/etcd:3.6.5-0, etcd is 3.6.4',
      'kubeadm v1.34.4 expects registry.k8s.io/pause:3.10.1, pause is 3.10',
    ]);
  });
});

describe('shell stays where only shell does well', () => {
  it('no shell script of the node image builds Go: every Go program goes through the factory\'s Go builder', () => {
    const scripts = (readdirSync(RECIPES_DIR, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile() && e.name.endsWith('.sh') && !e.parentPath.includes('node_modules'))
      .map((e) => join(e.parentPath, e.name));
    expect(scripts.length).toBeGreaterThan(3);
    for (const script of scripts) expect(readFileSync(script, 'utf8'), script).not.toMatch(/\bgo (build|test|install)\b|"\$GO" (build|test|install)|GOBUILD/);
  });
});
