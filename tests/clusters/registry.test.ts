import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, waitFor } from '@local-cluster/core';
import { REGISTRY_CONTAINER, REGISTRY_IMAGE, REGISTRY_VOLUME } from '@local-cluster/addons';
import { cli, driver, kubectlFor, leftovers, run } from './helpers.js';

// The local registry (cluster.registry): an image built and pushed on the host runs from
// localhost:5001 on every node, with no `load image`; the registry outlives down, clean and the
// cluster, serves a second cluster, carries the KEP-1755 ConfigMap, and `registry rm` leaves
// nothing of ours. A mirror in cluster.registries is the one the nodes' containerd pulls through.
// Clusters: A (control plane + 1 worker: the Deployment spreads over both, the control plane
// tolerated), B (one node). The registry is the engine's one: this file starts from none.
const A = `reg-a-${process.pid}`;
const B = `reg-b-${process.pid}`;
const BAD = `reg-bad-${process.pid}`;
const SUBNET_A = '10.211.0.0/16';
const SUBNET_B = '10.212.0.0/16';
const PORT = 5001;
const REGISTRY = `localhost:${PORT}`;
const MIRROR = `reg-mirror-${process.pid}`;
const MIRROR_PORT = 5002;
const STRANGER_IMAGE = `reg-test-stranger:${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'lc-registry-'));
const kubectlA = kubectlFor(A);
const kubectlB = kubectlFor(B);
const ARGS_A = ['--name', A, '--num-nodes', '1', '--addons', '', '--dind-subnet', SUBNET_A, '--registry'];
const ARGS_B = ['--name', B, '--num-nodes', '0', '--addons', '', '--dind-subnet', SUBNET_B, '--registry'];
/** Unique to this run: no node has seen an image with this content before. */
const MARK = `${process.pid}-${Date.now()}`;
const APP = `${REGISTRY}/reg-app-${process.pid}`;

const docker = (...args: string[]) => run('docker', args);

afterAll(async () => {
  for (const cluster of [A, B, BAD]) await clean({ driver, cluster }).catch(() => undefined);
  await docker('rm', '-f', MIRROR);
  await cli(['registry', 'rm']);
  await docker('rmi', '-f', STRANGER_IMAGE, `${APP}:v1`, `${APP}:v2`, `localhost:${MIRROR_PORT}/library/reg-mirrored-${process.pid}:v1`);
});

/** Builds an image the nodes have never seen (the registry's own image plus a file of this run) and pushes it. */
async function buildAndPush(ref: string, content: string): Promise<void> {
  const context = mkdtempSync(join(dir, 'image-'));
  writeFileSync(join(context, 'marker'), `${content}\n`);
  // FROM an image the engine has (up --registry built it): nothing is pulled
  writeFileSync(join(context, 'Dockerfile'), `FROM ${REGISTRY_IMAGE}\nCOPY marker /marker\n`);
  const build = await docker('build', '-q', '-t', ref, context);
  expect(build.code, build.stderr).toBe(0);
  const push = await docker('push', ref);
  expect(push.code, push.stderr + push.stdout).toBe(0);
}

/** A Deployment of `replicas` pods of `image` (default pull policy), spread over every node, control plane included. */
function deployment(name: string, image: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: name } } }],
          containers: [{ name: 'app', image }],
        },
      },
    },
  });
}

/** Applies the Deployment and waits for it; returns the nodes its Running pods are on. */
async function runOn(kubectl: ReturnType<typeof kubectlFor>, name: string, image: string, replicas: number): Promise<string[]> {
  const file = join(dir, `${name}-${Date.now()}.json`);
  writeFileSync(file, deployment(name, image, replicas));
  const applied = await kubectl('apply', '-f', file);
  expect(applied.code, applied.stderr).toBe(0);
  const rollout = await kubectl('rollout', 'status', `deployment/${name}`, '--timeout=180s');
  if (rollout.code !== 0) {
    const pods = await kubectl('describe', 'pods', '-l', `app=${name}`);
    expect.fail(`${rollout.stderr}\n${pods.stdout.slice(-4000)}`);
  }
  const pods = await kubectl('get', 'pods', '-l', `app=${name}`, '-o', 'jsonpath={range .items[*]}{.spec.nodeName}={.status.phase}={.status.containerStatuses[0].imageID}{"\\n"}{end}');
  const lines = pods.stdout.trim().split('\n');
  expect(lines.every((l) => l.split('=')[1] === 'Running'), pods.stdout).toBe(true);
  return [...new Set(lines.map((l) => l.split('=')[0]!))].sort();
}

/** The tagged image refs a node's containerd holds whose name contains `part` (not the by-digest ones). */
async function nodeImages(cluster: string, hostname: string, part: string): Promise<string[]> {
  const r = await docker('exec', `local-cluster-${cluster}-${hostname}`, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q');
  return r.stdout.split('\n').filter((l) => l.includes(part) && !l.includes('@'));
}

/** Removes every ref (tag and digest) of images whose name contains `part` from the cluster's nodes: the next pod pulls again. */
async function forgetImages(cluster: string, hostnames: string[], part: string): Promise<void> {
  for (const hostname of hostnames) {
    const node = `local-cluster-${cluster}-${hostname}`;
    const refs = (await docker('exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q')).stdout.split('\n').filter((l) => l.includes(part));
    if (refs.length) expect((await docker('exec', node, 'ctr', '-n', 'k8s.io', 'images', 'rm', ...refs)).code).toBe(0);
    expect(await nodeImages(cluster, hostname, part)).toEqual([]);
  }
}

async function registryObjects(): Promise<string[]> {
  const containers = await driver.listNodes({ role: 'registry' });
  const volumes = await driver.volumes.list({ role: 'registry' });
  return [...containers.map((c) => `container ${c.name}`), ...volumes.map((v) => `volume ${v.name}`)];
}

describe('local registry', () => {
  it('starts from no registry on the engine', async () => {
    const r = await cli(['registry', 'rm']);
    expect(r.code, r.stderr).toBe(0);
    expect(await registryObjects()).toEqual([]);
  });

  it('refuses a registry port in use, naming cluster.registryPort, and makes nothing', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
    try {
      const r = await cli(['up', '--name', BAD, '--num-nodes', '0', '--addons', '', '--registry']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/cluster\.registryPort \(--registry-port\) 5001 is already in use/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await leftovers(BAD)).toEqual([]);
    expect(await registryObjects()).toEqual([]);
  });

  it('refuses a container or a volume of the registry\'s name that is not ours, and touches neither', async () => {
    // an image with no labels at all (an empty root filesystem), for a container nobody labelled
    const imported = await run('sh', ['-c', `tar -cf - -T /dev/null | docker import - ${STRANGER_IMAGE}`]);
    expect(imported.code, imported.stderr).toBe(0);
    for (const kind of ['container', 'volume'] as const) {
      const made = kind === 'container' ? await docker('create', '--name', REGISTRY_CONTAINER, STRANGER_IMAGE, '/none') : await docker('volume', 'create', REGISTRY_VOLUME);
      expect(made.code, made.stderr).toBe(0);
      try {
        const r = await cli(['up', '--name', BAD, '--num-nodes', '0', '--addons', '', '--registry']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(`cluster.registry (--registry): a ${kind} named "local-cluster-registry" exists on the engine and was not made by local-cluster`);
        expect(await leftovers(BAD)).toEqual([]);
        // `registry rm` does not touch it either
        expect((await cli(['registry', 'rm'])).code).toBe(0);
        const still = kind === 'container' ? await docker('inspect', REGISTRY_CONTAINER) : await docker('volume', 'inspect', REGISTRY_VOLUME);
        expect(still.code, `${kind} still there`).toBe(0);
      } finally {
        await (kind === 'container' ? docker('rm', '-f', REGISTRY_CONTAINER) : docker('volume', 'rm', REGISTRY_VOLUME));
      }
    }
  });

  it('an image pushed from the host runs from localhost:5001 on every node, no `load image`; the KEP-1755 ConfigMap says where the registry is', async () => {
    const up = await cli(['up', ...ARGS_A]);
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const [registry] = await driver.listNodes({ role: 'registry' });
    expect(registry?.name).toBe(REGISTRY_CONTAINER);
    expect(await registry!.hostPort(5000)).toBe(PORT);
    const inspect = await docker('inspect', REGISTRY_CONTAINER, '--format', '{{.HostConfig.RestartPolicy.Name}} {{(index .HostConfig.PortBindings "5000/tcp" 0).HostIp}}');
    expect(inspect.stdout.trim()).toBe('unless-stopped 127.0.0.1');

    await buildAndPush(`${APP}:v1`, `v1 ${MARK}`);
    for (const hostname of ['kube-master', 'kube-node-1']) {
      expect(await nodeImages(A, hostname, `reg-app-${process.pid}`), `${hostname} has never seen the image`).toEqual([]);
      const hosts = await docker('exec', `local-cluster-${A}-${hostname}`, 'cat', `/etc/containerd/certs.d/${REGISTRY}/hosts.toml`);
      expect(hosts.stdout).toContain(`[host."http://${REGISTRY_CONTAINER}:5000"]`);
    }
    expect(await runOn(kubectlA, 'app', `${APP}:v1`, 3)).toEqual(['kube-master', 'kube-node-1']);
    for (const hostname of ['kube-master', 'kube-node-1']) expect(await nodeImages(A, hostname, `reg-app-${process.pid}`)).toEqual([`${APP}:v1`]);

    const hosting = await kubectlA('-n', 'kube-public', 'get', 'configmap', 'local-registry-hosting', '-o', 'jsonpath={.data.localRegistryHosting\\.v1}');
    expect(hosting.code, hosting.stderr).toBe(0);
    expect(hosting.stdout).toContain(`host: "${REGISTRY}"`);
    expect(hosting.stdout).toContain(`hostFromClusterNetwork: "${REGISTRY_CONTAINER}:5000"`);

    const status = await cli(['registry']);
    expect(status.stdout).toContain(`${REGISTRY_CONTAINER}: running, localhost:${PORT}`);
  });

  it('after down and up (restore) the image is still pullable, and a newly pushed one too', async () => {
    expect((await cli(['down', '--name', A])).code).toBe(0);
    const up = await cli(['up', ...ARGS_A]);
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.stdout).toContain('restored from its snapshot');
    // the nodes came back with what they had pulled: forget it, so that the registry must serve it again
    await forgetImages(A, ['kube-master', 'kube-node-1'], `reg-app-${process.pid}`);
    expect(await runOn(kubectlA, 'again', `${APP}:v1`, 3)).toEqual(['kube-master', 'kube-node-1']);
    await buildAndPush(`${APP}:v2`, `v2 ${MARK}`);
    expect(await runOn(kubectlA, 'newer', `${APP}:v2`, 2)).toEqual(['kube-master', 'kube-node-1']);
  });

  it('after clean the registry and its images remain; a new `up --registry` pulls them, and a second cluster on the engine too', async () => {
    const cleaned = await cli(['clean', '--name', A]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await leftovers(A)).toEqual([]);
    expect(await registryObjects()).toEqual([`container ${REGISTRY_CONTAINER}`, `volume ${REGISTRY_VOLUME}`]);

    const up = await cli(['up', ...ARGS_A]);
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.stdout).not.toContain('restored from its snapshot');
    for (const hostname of ['kube-master', 'kube-node-1']) expect(await nodeImages(A, hostname, `reg-app-${process.pid}`)).toEqual([]);
    expect(await runOn(kubectlA, 'app', `${APP}:v1`, 3)).toEqual(['kube-master', 'kube-node-1']);

    const second = await cli(['up', ...ARGS_B]);
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(await runOn(kubectlB, 'app', `${APP}:v2`, 1)).toEqual(['kube-master']);
    // one registry for both
    expect(await registryObjects()).toEqual([`container ${REGISTRY_CONTAINER}`, `volume ${REGISTRY_VOLUME}`]);
    expect((await cli(['clean', '--name', B])).code).toBe(0);
    expect(await leftovers(B)).toEqual([]);
  });

  it('a mirror in cluster.registries, with its credentials, is the one containerd pulls through', async () => {
    // a second registry container on the engine is docker.io's mirror (a pull-through cache on
    // the LAN, say); an image pushed to it is pulled by its docker.io name
    // the mirror asks for credentials (htpasswd: user "me", password "s3cret", bcrypt), which
    // cluster.registries.configs gives the nodes
    const auth = mkdtempSync(join(dir, 'auth-'));
    writeFileSync(join(auth, 'htpasswd'), 'me:$2b$12$c2W9E/LMWaVamcYo.v2m9ufVkCdSDPobe2UrBRPDoQ0TWrVEiG1Gq\n');
    const mirror = await docker('run', '-d', '--name', MIRROR, '-p', `127.0.0.1:${MIRROR_PORT}:5000`, '-v', `${auth}:/auth:ro`, '-e', 'REGISTRY_AUTH=htpasswd', '-e', 'REGISTRY_AUTH_HTPASSWD_REALM=lan', '-e', 'REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd', REGISTRY_IMAGE);
    expect(mirror.code, mirror.stderr).toBe(0);
    const mirrored = `reg-mirrored-${process.pid}`;
    await waitFor('the mirror answers', async () => ((await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${MIRROR_PORT}/v2/`])).stdout === '401' ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
    const loggedIn = await run('sh', ['-c', `printf s3cret | docker login -u me --password-stdin localhost:${MIRROR_PORT}`]);
    expect(loggedIn.code, loggedIn.stderr).toBe(0);
    await buildAndPush(`localhost:${MIRROR_PORT}/library/${mirrored}:v1`, `mirrored ${MARK}`);

    const config = join(dir, 'mirror.yaml');
    writeFileSync(config, `cluster:\n  registries:\n    mirrors:\n      docker.io: ["http://${MIRROR}:5000"]\n    configs:\n      ${MIRROR}:5000: {username: me, password: s3cret}\n`);
    expect((await cli(['clean', '--name', A])).code).toBe(0);
    const up = await cli(['up', ...ARGS_A], { LOCAL_CLUSTER_CONF: config });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    // the mirror joins the cluster's network, as a LAN host would be reachable from the nodes
    expect((await docker('network', 'connect', `local-cluster-${A}`, MIRROR)).code).toBe(0);
    const hosts = await docker('exec', `local-cluster-${A}-kube-node-1`, 'cat', '/etc/containerd/certs.d/docker.io/hosts.toml');
    expect(hosts.stdout).toContain('server = "https://registry-1.docker.io"');
    expect(hosts.stdout).toContain(`[host."http://${MIRROR}:5000"]`);
    expect(hosts.stdout).toContain(`[host."http://${MIRROR}:5000".header]\n  Authorization = "Basic ${Buffer.from('me:s3cret').toString('base64')}"`);
    // the local registry's hosts.toml is there beside it
    expect((await docker('exec', `local-cluster-${A}-kube-node-1`, 'test', '-f', `/etc/containerd/certs.d/${REGISTRY}/hosts.toml`)).code).toBe(0);

    expect(await runOn(kubectlA, 'mirrored', `docker.io/library/${mirrored}:v1`, 2)).toEqual(['kube-master', 'kube-node-1']);
    const log = await docker('logs', MIRROR);
    // containerd resolved the tag at the mirror, naming the registry it stands for (?ns=docker.io)
    expect(log.stdout + log.stderr).toMatch(new RegExp(`"(HEAD|GET) /v2/library/${mirrored}/manifests/v1\\?ns=docker\\.io HTTP/1.1" 200`));
    expect((await docker('network', 'disconnect', '-f', `local-cluster-${A}`, MIRROR)).code).toBe(0);
  });

  it('`registry rm` removes the container and its volume and nothing else; clusters keep running', async () => {
    const r = await cli(['registry', 'rm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Removed 1 container(s) and 1 volume(s) of the local registry');
    expect(await registryObjects()).toEqual([]);
    expect((await docker('inspect', REGISTRY_CONTAINER)).code).not.toBe(0);
    expect((await docker('volume', 'inspect', REGISTRY_VOLUME)).code).not.toBe(0);
    // the cluster is untouched, and a push now says why it fails
    expect((await kubectlA('get', 'nodes')).code).toBe(0);
    const push = await docker('push', `${APP}:v1`);
    expect(push.code).not.toBe(0);
    expect(push.stderr + push.stdout).toMatch(/connection refused|dial tcp/);
    expect((await cli(['registry'])).stdout).toContain('No local registry on the engine');
    expect((await cli(['clean', '--name', A])).code).toBe(0);
    expect(await leftovers(A)).toEqual([]);
  });
});
