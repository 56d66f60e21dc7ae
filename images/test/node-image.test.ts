import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KUBERNETES_VERSION } from '@local-cluster/core';
import { RECIPES_DIR, defaultKubernetesVersion, isOtherRelease, nodeImageHash, nodeImageRef, releaseEnv } from '../src/index.js';

function recipesCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lc-recipes-'));
  for (const part of ['build-node-image.sh', 'binaries', 'node', 'release', 'containerd2']) cpSync(join(RECIPES_DIR, part), join(dir, part), { recursive: true });
  return dir;
}

describe('node image content address', () => {
  it('core default Kubernetes version is the one the recipes pin', () => {
    const env = readFileSync(join(RECIPES_DIR, 'binaries', 'versions.env'), 'utf8');
    expect(/^KUBERNETES_VERSION=(\S+)$/m.exec(env)?.[1]).toBe(DEFAULT_KUBERNETES_VERSION);
  });

  it('is stable for unchanged inputs and names the version', () => {
    const dir = recipesCopy();
    expect(nodeImageHash('v1.34.4', dir)).toBe(nodeImageHash('v1.34.4', dir));
    expect(nodeImageRef('v1.34.4', dir)).toMatch(/^local-cluster\/node:v1\.34\.4-[0-9a-f]{12}$/);
  });

  it('changes when a recipe or the version changes, not when docs do', () => {
    const dir = recipesCopy();
    const before = nodeImageHash('v1.34.4', dir);
    expect(nodeImageHash('v1.33.1', dir)).not.toBe(before);
    writeFileSync(join(dir, 'node', 'NOTES-extra.md'), '# docs only\n');
    expect(nodeImageHash('v1.34.4', dir)).toBe(before);
    appendFileSync(join(dir, 'binaries', 'versions.env'), '# changed\n');
    expect(nodeImageHash('v1.34.4', dir)).not.toBe(before);
  });
});

describe('node images of other Kubernetes releases', () => {
  it('the default release hashes only its own recipe: release/ and containerd2/ never rebuild it', () => {
    const dir = recipesCopy();
    const before = nodeImageHash(DEFAULT_KUBERNETES_VERSION, dir);
    const other = nodeImageHash('v1.36.3', dir);
    appendFileSync(join(dir, 'containerd2', 'config.toml'), '# changed\n');
    appendFileSync(join(dir, 'release', 'build-node-image.sh'), '# changed\n');
    expect(nodeImageHash(DEFAULT_KUBERNETES_VERSION, dir)).toBe(before);
    expect(nodeImageHash('v1.36.3', dir)).not.toBe(other);
    expect(isOtherRelease(DEFAULT_KUBERNETES_VERSION, dir)).toBe(false);
    expect(isOtherRelease('v1.36.3', dir)).toBe(true);
    expect(defaultKubernetesVersion(dir)).toBe(DEFAULT_KUBERNETES_VERSION);
  });

  it('builds them with the versions their kubeadm asks for, and GOTOOLCHAIN only when needed', () => {
    const release = { version: 'v1.36.3', dir: '/m', go: '1.26.0', localGo: 'go1.26.8', images: { etcd: '3.6.8', coredns: 'v1.14.2', pause: '3.10.2' }, containerd: 2 as const };
    expect(releaseEnv({ ...release, toolchain: undefined })).toEqual({
      KUBERNETES_VERSION: 'v1.36.3',
      ETCD_VERSION: '3.6.8',
      COREDNS_VERSION: 'v1.14.2',
      PAUSE_VERSION: '3.10.2',
      CONTAINERD_MAJOR: '2',
    });
    expect(releaseEnv({ ...release, go: '1.27.0', toolchain: 'go1.27.0' }).GOTOOLCHAIN).toBe('go1.27.0');
  });

  it('the containerd 2 configuration is version 3 with the keys the node relies on', () => {
    const toml = readFileSync(join(RECIPES_DIR, 'containerd2', 'config.toml'), 'utf8');
    expect(toml).toMatch(/^version = 3$/m);
    // release/build-node-image.sh rewrites this line to kubeadm's pause image
    expect(toml).toMatch(/^\s*sandbox = "registry\.k8s\.io\/pause:[^"]+"$/m);
    expect(toml).toContain('SystemdCgroup = true');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('discard_unpacked_layers = false');
    const unit = readFileSync(join(RECIPES_DIR, 'containerd2', 'containerd.service.conf'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/containerd --config /etc/containerd/containerd2.toml');
  });
});

describe('toolbox image', () => {
  it('TOOLBOX_IMAGE is the name the recipes pin', async () => {
    const { TOOLBOX_IMAGE } = await import('../src/index.js');
    const env = readFileSync(join(RECIPES_DIR, 'binaries', 'versions.env'), 'utf8');
    expect(/^TOOLBOX_IMAGE=(\S+)$/m.exec(env)?.[1]).toBe(TOOLBOX_IMAGE);
  });
});

describe('the node contract (core NODE_CONTRACT) matches the image files', () => {
  const file = (path: string) => readFileSync(join(RECIPES_DIR, 'node', path), 'utf8');

  it('assemble.sh seeds containerd in the image and writes the stamp core checks', async () => {
    const { NODE_CONTRACT } = await import('@local-cluster/core');
    const assemble = file('assemble.sh');
    expect(assemble).toContain(`STAMP=${NODE_CONTRACT.preloadStamp}`);
    expect(assemble).toContain('seed-containerd.sh');
    expect(file('seed-containerd.sh')).toContain('>"$STAMP"');
    // nothing imports at boot any more: no unit may wait for archives the image no longer has
    expect(existsSync(join(RECIPES_DIR, 'node', 'files', 'etc', 'systemd', 'system', 'local-cluster-preload.service'))).toBe(false);
  });

  it('the entrypoint reads the role variable core sets and runs the hook directory plugins write to', async () => {
    const { NODE_CONTRACT } = await import('@local-cluster/core');
    const entrypoint = file('files/usr/local/bin/entrypoint');
    expect(entrypoint).toContain(`\${${NODE_CONTRACT.nodeRoleEnv}:-}`);
    const stateDir = /^STATE_DIR=(\S+)$/m.exec(entrypoint)?.[1];
    expect(entrypoint).toContain('"$STATE_DIR"/entrypoint.d/*.sh');
    expect(`${stateDir}/entrypoint.d`).toBe(NODE_CONTRACT.entrypointHookDir);
  });

  it('containerd looks for CNI binaries and configs where plugins install them; kubeadm is where core runs it', async () => {
    const { NODE_CONTRACT } = await import('@local-cluster/core');
    const containerd = file('files/etc/containerd/config.toml');
    expect(containerd).toContain(`bin_dir = "${NODE_CONTRACT.cniBinDir}"`);
    expect(containerd).toContain(`conf_dir = "${NODE_CONTRACT.cniConfDir}"`);
    expect(file('assemble.sh')).toContain(`"$ROOT${NODE_CONTRACT.kubeadm}"`);
  });
});
