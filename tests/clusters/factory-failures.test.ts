import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CNI_API_VERSION,
  ensureImage,
  imageCacheDir,
  isImageBuildError,
  isStepError,
  loadConfig,
  up,
  type CniPlugin,
  type ImageRequirement,
} from '@local-cluster/core';
import { nodeImage } from '@local-cluster/images';
import { weave, WEAVE_IMAGES } from '@local-cluster/cni-weave';
import { cli, driver, run, toolHome, leftovers } from './helpers.js';

const logger = { info: () => undefined, debug: () => undefined, warn: () => undefined };


function plugin(name: string, images: ImageRequirement[], extra: Partial<CniPlugin> = {}): CniPlugin {
  return { apiVersion: CNI_API_VERSION, kind: 'cni', name, defaultPodSubnet: '10.244.0.0/16', images: () => images, ...extra };
}

async function upWith(cluster: string, subnet: string, cni: CniPlugin): Promise<unknown> {
  const { config } = loadConfig({ overrides: { cluster: { name: cluster, numNodes: 0 }, dind: { subnet } }, env: {} });
  return up({ config, driver, cni, nodeImage: nodeImage(config), home: toolHome, userKubeconfig: false }).catch((e: unknown) => e);
}

describe('image factory failures are clear and leave nothing behind', () => {
  it('a module version the proxy refuses: the error names the plugin, image, module and log; no cluster is made', async () => {
    const cluster = `e2e-badmod-${process.pid}`;
    const ref = 'docker.io/local-cluster-test/refused:1';
    const cni = plugin('refused-module', [
      { ref, recipe: { go: [{ module: 'github.com/containernetworking/plugins', version: 'v0.0.99', package: 'plugins/main/loopback', binary: 'loopback' }] } },
    ]);
    const error = await upWith(cluster, '10.199.0.0/16', cni);
    expect(isStepError(error)).toBe(true);
    if (!isStepError(error)) return;
    expect(error.step).toBe('images');
    const text = error.describe();
    expect(text).toContain(ref);
    expect(text).toContain('CNI plugin "refused-module"');
    expect(text).toContain('github.com/containernetworking/plugins@v0.0.99');
    const log = /Build log: (\S+)/.exec(text)?.[1];
    expect(log && existsSync(log)).toBe(true);
    expect(await driver.images.has(ref)).toBe(false);
    expect(await leftovers(cluster)).toEqual([]);
  });

  it('a build that fails: the compiler output is in the error and the log, and no image is left under its name', async () => {
    const ref = 'docker.io/local-cluster-test/broken-build:1';
    const image: ImageRequirement = {
      ref,
      // v0.9.1's go.mod predates vendor-free module zips: forcing -mod=vendor cannot build
      recipe: { go: [{ module: 'github.com/containernetworking/plugins', version: 'v0.9.1', package: 'plugins/main/loopback', binary: 'loopback', env: { GOFLAGS: '-mod=vendor' } }] },
    };
    const error = await ensureImage({ image, neededBy: 'CNI plugin "broken-build"' }, { driver, cacheDir: imageCacheDir(toolHome), logger, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isImageBuildError(error)).toBe(true);
    if (!isImageBuildError(error)) return;
    expect(error.message).toMatch(/go build of loopback from github\.com\/containernetworking\/plugins@v0\.9\.1 failed/);
    expect(error.message).toMatch(/vendor/);
    expect(readFileSync(error.logPath!, 'utf8')).toMatch(/go build/);
    expect(await driver.images.has(ref)).toBe(false);
  });

  it('an interrupted build leaves no image under its final name and no work directory', async () => {
    const ref = 'docker.io/local-cluster-test/interrupted:1';
    const controller = new AbortController();
    const image: ImageRequirement = { ref, recipe: { debianPackages: ['hello'], shell: true, entrypoint: ['/usr/bin/hello'] } };
    const events: string[] = [];
    const log = { info: (m: string) => { events.push(m); if (/Debian packages:/.test(m)) controller.abort(); }, debug: () => undefined, warn: () => undefined };
    const error = await ensureImage({ image, neededBy: 'a test' }, { driver, cacheDir: imageCacheDir(toolHome), logger: log, signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortedError');
    expect(await driver.images.has(ref)).toBe(false);
    const work = join(imageCacheDir(toolHome), 'work');
    expect(existsSync(work) ? readdirSync(work).filter((d) => d.endsWith(`.${process.pid}`)) : []).toEqual([]);
  });

  it('a plugin whose pods never get Ready: the error names the plugin, the pod and why; the cluster is rolled back', async () => {
    const cluster = `e2e-notready-${process.pid}`;
    const ref = 'docker.io/local-cluster-test/crashing-cni:1';
    const cni = plugin('never-ready', [{ ref, recipe: { shell: true, entrypoint: ['/bin/sh', '-c', 'echo cannot configure the pod network >&2; exit 3'] } }], {
      async install(ctx) {
        await ctx.apply([
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            metadata: { name: 'never-ready', namespace: 'kube-system' },
            spec: {
              selector: { matchLabels: { app: 'never-ready' } },
              template: {
                metadata: { labels: { app: 'never-ready' } },
                spec: { hostNetwork: true, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'agent', image: ref, imagePullPolicy: 'Never' }] },
              },
            },
          },
        ]);
      },
      async waitReady(ctx) {
        await ctx.waitForRollout('daemonset', 'kube-system', 'never-ready', { timeoutSeconds: 25 });
      },
    });
    const error = await upWith(cluster, '10.200.0.0/16', cni);
    expect(isStepError(error)).toBe(true);
    if (!isStepError(error)) return;
    expect(error.step).toBe('cni');
    const text = error.describe();
    expect(text).toContain('CNI plugin "never-ready" failed in waitReady()');
    expect(text).toMatch(/daemonset kube-system\/never-ready was not ready within 25s/);
    expect(text).toMatch(/pod never-ready-\w+ on kube-master/);
    expect(text).toContain('cannot configure the pod network');
    expect(text).toContain(`Logs are in ${error.logsDir}`);
    expect(readFileSync(join(error.logsDir!, 'pods.txt'), 'utf8')).toContain('never-ready');
    expect(await leftovers(cluster)).toEqual([]);
    await driver.images.remove(ref, { role: 'image' });
  });

  it('a package that exports no valid plugin, and an unknown plugin name: clear errors, exit 1', async () => {
    const project = mkdtempSync(join(tmpdir(), 'lc-bad-plugin-'));
    writeFileSync(join(project, 'not-a-cni.mjs'), 'export default { name: "half", kind: "cni" };\n');
    writeFileSync(join(project, 'config.yaml'), 'cluster:\n  cniPlugin: ./not-a-cni.mjs\n');
    const bad = await cli(['up'], { LOCAL_CLUSTER_CONF: join(project, 'config.yaml') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"\.\/not-a-cni\.mjs" \(cluster\.cniPlugin\).*is not a valid CNI plugin/);
    const unknown = await cli(['up', '--cni-plugin', 'flanel']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/CNI plugin "flanel" \(cluster\.cniPlugin\) was not found/);
    expect(unknown.stderr).toContain('flannel');
  });
});

describe('images a user already has win over building', () => {
  it('an image of that name in the engine, not built here, is used as is and never rebuilt', async () => {
    const ref = 'docker.io/local-cluster-test/users-own:1';
    const dir = mkdtempSync(join(tmpdir(), 'lc-users-image-'));
    writeFileSync(join(dir, 'marker'), 'pulled elsewhere\n');
    // what `docker pull` or `docker load` of someone else's image leaves: no labels of ours
    const imported = await run('sh', ['-c', `tar -C ${dir} -cf - marker | docker import - ${ref}`]);
    expect(imported.code, imported.stderr).toBe(0);
    try {
      // a recipe that could not build (the proxy refuses the version): it must not be tried
      const image: ImageRequirement = { ref, recipe: { go: [{ module: 'github.com/containernetworking/plugins', version: 'v0.0.99', binary: 'x' }] } };
      const status = await ensureImage({ image, neededBy: 'a test' }, { driver, cacheDir: imageCacheDir(toolHome), logger, signal: new AbortController().signal });
      expect(status.state).toBe('external');
      expect((await driver.images.inspect(ref))?.labels ?? {}).not.toHaveProperty('dev.local-cluster.managed');
    } finally {
      await run('docker', ['rmi', ref]);
    }
  });
});

describe('weave with images of its names but broken contents', () => {
  it('up fails naming the weave pod and its log lines, and rolls back; real weave images in the engine keep their names', async () => {
    const cluster = `e2e-weave-broken-${process.pid}`;
    const ref = 'docker.io/local-cluster-test/weave-broken:1';
    // weave-init's script, present but failing as a broken build would
    const broken: ImageRequirement = {
      ref,
      recipe: { shell: true, files: [{ path: '/home/weave/init.sh', content: '#!/bin/sh\necho "weave-init: this weave-kube is broken (a test image)" >&2\nexit 7\n', mode: 0o755 }], entrypoint: ['/bin/sh'] },
    };
    await ensureImage({ image: broken, neededBy: 'a test' }, { driver, cacheDir: imageCacheDir(toolHome), logger, signal: new AbortController().signal });
    // images a user loaded under weave's names are moved aside by id and given their names back afterwards
    const id = async (name: string) => { const r = await run('docker', ['image', 'inspect', '-f', '{{.Id}}', name]); return r.code === 0 ? r.stdout.trim() : undefined; };
    const saved = new Map<string, string | undefined>();
    for (const name of WEAVE_IMAGES) saved.set(name, await id(name));
    try {
      for (const name of WEAVE_IMAGES) expect((await run('docker', ['tag', ref, name])).code).toBe(0);
      // the plugin's own manifest and images; a shorter wait than its 240 s, which a crash loop would only repeat
      const plugin = weave();
      const cni: CniPlugin = { ...plugin, waitReady: (ctx) => ctx.waitForRollout('daemonset', 'kube-system', 'weave-net', { timeoutSeconds: 45 }) };
      const error = await upWith(cluster, '10.201.0.0/16', cni);
      expect(isStepError(error)).toBe(true);
      if (!isStepError(error)) return;
      expect(error.step).toBe('cni');
      const text = error.describe();
      expect(text).toContain('CNI plugin "weave" failed in waitReady()');
      expect(text).toMatch(/daemonset kube-system\/weave-net was not ready within 45s/);
      expect(text).toMatch(/pod weave-net-\w+ on kube-master: Pending; init container weave-init/);
      expect(text).toContain('weave-init: this weave-kube is broken (a test image)');
      expect(await leftovers(cluster)).toEqual([]);
    } finally {
      for (const [name, before] of saved) await run('docker', before ? ['tag', before, name] : ['rmi', name]);
      await driver.images.remove(ref, { role: 'image' });
    }
    for (const [name, before] of saved) expect(await id(name)).toBe(before);
  });
});
