import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerDriver } from '@local-cluster/docker-driver';

// `up` with input that preflight must refuse: a clear error, exit 1, and nothing created.
// These run against the real engine but never reach the node image build.

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'lc-preflight-'));
const driver = dockerDriver();

function up(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LOCAL_CLUSTER_')));
  return new Promise((resolve) =>
    execFile(process.execPath, [BIN, 'up', ...args], { env: { ...base, HOME: home, NO_COLOR: '1', ...env }, timeout: 60_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}

async function nothingOf(cluster: string): Promise<void> {
  expect(await driver.listNodes({ cluster })).toEqual([]);
  expect(await driver.listNetworks({ cluster })).toEqual([]);
  expect(await driver.volumes.list({ cluster })).toEqual([]);
}

const name = () => `pf-${Math.random().toString(36).slice(2, 8)}`;

describe('up refuses before creating anything', () => {
  let server: Server;
  let busyPort: number;
  const foreignNetwork = `lc-preflight-foreign-${process.pid}`;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    busyPort = (server.address() as { port: number }).port;
    // a network that is not ours, on a range a user might also pick
    await driver.createNetwork({ name: foreignNetwork, subnet: '10.231.0.0/16', labels: { 'dev.local-cluster.test': 'preflight' } });
  });

  afterAll(async () => {
    server.close();
    await driver.removeNetwork(foreignNetwork, { labels: { 'dev.local-cluster.test': 'preflight' } });
  });

  it('an API server port already in use', async () => {
    const cluster = name();
    const r = await up(['--name', cluster, '--apiserver-port', String(busyPort)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cluster.apiServerPort ${busyPort} is already in use`);
    expect(r.stderr).toContain('--apiserver-port');
    await nothingOf(cluster);
  });

  it('a subnet that overlaps an existing Docker network, which is left alone', async () => {
    const cluster = name();
    const r = await up(['--name', cluster, '--dind-subnet', '10.231.128.0/17']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`dind.subnet 10.231.128.0/17 overlaps Docker network "${foreignNetwork}"`);
    expect(r.stderr).toContain('--dind-subnet');
    await nothingOf(cluster);
    expect((await driver.listAllNetworks()).map((n) => n.name)).toContain(foreignNetwork);
  });

  it('a Kubernetes version the Go module proxy does not serve', async () => {
    const cluster = name();
    const r = await up(['--name', cluster, '--kubernetes-version', 'v1.36.99']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('source.kubernetesVersion (--kubernetes-version) v1.36.99');
    expect(r.stderr).toContain('does not serve k8s.io/kubernetes@v1.36.99');
    expect(r.stderr).toContain('go list -m -versions k8s.io/kubernetes');
    await nothingOf(cluster);
  });

  it('a Kubernetes version older than the recipes build', async () => {
    const cluster = name();
    const r = await up(['--name', cluster, '--kubernetes-version', 'v1.31.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('source.kubernetesVersion');
    expect(r.stderr).toContain('--kubernetes-version');
    expect(r.stderr).toContain('must be v1.32.0 or newer');
    await nothingOf(cluster);
  });

  it('a CNI whose images are neither present nor buildable', async () => {
    const cluster = name();
    // an image with no recipe that no engine here has
    const plugin = join(home, 'unbuildable-cni.mjs');
    writeFileSync(
      plugin,
      `export default { apiVersion: 'local-cluster.dev/cni/v1', kind: 'cni', name: 'unbuildable', defaultPodSubnet: '10.244.0.0/16', images: () => [{ ref: 'docker.io/acme/not-here:${cluster}' }] };\n`,
    );
    const r = await up(['--name', cluster, '--cni-plugin', plugin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('neither in the engine nor buildable here');
    expect(r.stderr).toContain(`docker.io/acme/not-here:${cluster} (CNI plugin "unbuildable")`);
    await nothingOf(cluster);
  });

  it('a CNI whose image recipe is invalid', async () => {
    const cluster = name();
    const plugin = join(home, 'bad-recipe-cni.mjs');
    writeFileSync(
      plugin,
      `export default { apiVersion: 'local-cluster.dev/cni/v1', kind: 'cni', name: 'bad-recipe', defaultPodSubnet: '10.244.0.0/16', images: () => [{ ref: 'docker.io/acme/agent:1', recipe: { go: [{ module: 'github.com/acme/agent', version: 'latest', binary: 'agent' }] } }] };\n`,
    );
    const r = await up(['--name', cluster, '--cni-plugin', plugin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CNI plugin "bad-recipe" declares image docker.io/acme/agent:1 with an invalid recipe: go.0.version');
    await nothingOf(cluster);
  });

  it('weave, whose images cannot be built here and are not in the engine: the missing modules and how to load them, before anything is made', async () => {
    const cluster = name();
    const r = await up(['--name', cluster, '--cni-plugin', 'weave']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('docker.io/weaveworks/weave-kube:2.8.1 (CNI plugin "weave")');
    expect(r.stderr).toContain('are not served by the Go module proxy');
    expect(r.stderr.match(/not served by the Go module proxy/g)).toHaveLength(1);
    // the way out: images loaded into the engine are used as is
    expect(r.stderr).toContain('Load docker.io/weaveworks/weave-kube:2.8.1 and docker.io/weaveworks/weave-npc:2.8.1 into the engine');
    await nothingOf(cluster);
  });

  it('kube-proxy in ipvs mode, which these kernels cannot run', async () => {
    const cluster = name();
    const r = await up(['--name', cluster, '--kube-proxy-mode', 'ipvs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cluster\.kubeProxyMode ipvs (cannot run here|is not supported)/);
    expect(r.stderr).toContain('--kube-proxy-mode iptables');
    await nothingOf(cluster);
  });

  it('an unreachable engine', async () => {
    const r = await up(['--name', name()], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not reachable at unix:///nonexistent/docker.sock (from DOCKER_HOST): no such socket. Start it or fix or unset DOCKER_HOST; nothing was changed.');
  });
});
