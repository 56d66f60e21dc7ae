import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clean, DEFAULT_KUBERNETES_VERSION, loadConfig, type Driver } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { nodeImage } from '@local-cluster/images';
import { cli, driver, hostKubectl, readyNodes, ROOT, run, testHome, toolHome } from './helpers.js';

// Remote engines: a second dockerd on this machine (scripts/second-engine.sh), reached over TCP
// with TLS as a remote one would be. Clusters are made there through DOCKER_HOST and through a
// Docker context, and must exist there only; an engine that does not answer is refused at once.
const A = `rem-a-${process.pid}`;
const B = `rem-b-${process.pid}`;
const C = `rem-c-${process.pid}`;
const D = `rem-d-${process.pid}`;
const SCRIPT = join(ROOT, 'scripts', 'second-engine.sh');
const DIR = mkdtempSync(join(tmpdir(), 'lc-second-engine-'));
let port = 0;
/** This machine's own non-loopback address: a Docker context naming it makes the engine "remote" (published on 0.0.0.0, the kubeconfig names that address). */
const ADDRESS =
  Object.entries(networkInterfaces())
    .filter(([name]) => !/^(lo|docker|br-|veth|cni|flannel|vxlan|kube)/.test(name))
    .flatMap(([, list]) => list ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';

/** The second engine through its own unix socket (for checks the CLI does not make). */
let second: Driver;
/** DOCKER_HOST + TLS, as a user of a remote engine sets them. */
let remoteEnv: Record<string, string>;
/** No DOCKER_HOST: what a Docker context must provide. */
const NO_HOST = { DOCKER_HOST: '', DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '', DOCKER_CONTEXT: '' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as AddressInfo;
      server.close(() => resolve(p));
    });
  });
}

async function objectsOf(on: Driver, cluster: string): Promise<string[]> {
  return [
    ...(await on.listNodes({ cluster })).map((n) => `container ${n.name}`),
    ...(await on.listNetworks({ cluster })).map((n) => `network ${n.name}`),
    ...(await on.volumes.list({ cluster })).map((v) => `volume ${v.name}`),
    ...(await on.images.list({ cluster })).map((i) => `image ${i.tags.join(',') || i.id}`),
  ];
}

function kubeconfigOf(cluster: string): string {
  return join(toolHome, 'clusters', cluster, 'admin.conf');
}

async function readyThrough(cluster: string): Promise<string[]> {
  const r = await run(hostKubectl(DEFAULT_KUBERNETES_VERSION), ['--kubeconfig', kubeconfigOf(cluster), 'get', 'nodes', '-o', 'json', '--request-timeout=20s']);
  expect(r.code, r.stderr).toBe(0);
  return readyNodes(r.stdout);
}

/** The host address and port the control plane's API server port (6443) is bound to. */
async function apiBinding(on: Driver, cluster: string): Promise<{ HostIp: string; HostPort: string }> {
  const cp = (await on.listNodes({ cluster })).find((n) => n.hostname === 'kube-master')!;
  const out = await run('docker', ['-H', `unix://${DIR}/docker.sock`, 'inspect', '-f', '{{json .HostConfig.PortBindings}}', cp.id]);
  return (JSON.parse(out.stdout) as Record<string, { HostIp: string; HostPort: string }[]>)['6443/tcp']![0]!;
}

beforeAll(async () => {
  port = await freePort();
  const started = await run('bash', [SCRIPT, 'start', DIR, String(port), ...(ADDRESS === '127.0.0.1' ? [] : [ADDRESS])]);
  expect(started.code, started.stderr).toBe(0);
  remoteEnv = { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(DIR, 'client'), DOCKER_CONTEXT: '' };
  second = dockerDriver({ socketPath: join(DIR, 'docker.sock') });

  // The node image: built on the first engine when missing (a cold machine), then copied into
  // the second as `docker save | docker -H <remote> load` would (without it, `up` would build it
  // here and load it over the connection).
  const ref = nodeImage(loadConfig({ env: {} }).config).ref;
  if (!(await driver.images.has(ref))) {
    const built = await cli(['images', '--build', '--addons', '']);
    expect(built.code, built.stderr.slice(-2000)).toBe(0);
  }
  const started2 = Date.now();
  await second.images.load(await driver.images.save([ref]));
  console.log(`node image ${ref} copied into the second engine in ${((Date.now() - started2) / 1000).toFixed(1)}s`);
  expect(await second.images.has(ref)).toBe(true);
});

afterAll(async () => {
  for (const name of [A, B, C, D]) await clean({ driver: second, cluster: name, home: toolHome }).catch(() => undefined);
  const stopped = await run('bash', [SCRIPT, 'stop', DIR]);
  expect(stopped.code, stopped.stderr).toBe(0);
  expect(existsSync(DIR)).toBe(false);
});

describe('a remote engine through DOCKER_HOST (tcp with TLS)', () => {
  it('`up` makes a 2-node cluster there, Ready through the written kubeconfig, and nothing on the first engine', async () => {
    const t0 = Date.now();
    const r = await cli(['up', '--name', A, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.235.0.0/16'], remoteEnv);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    console.log(`up over tcp+TLS: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.stderr).toContain(`at tcp://127.0.0.1:${port}`);
    // an engine on this machine's loopback: the API server stays on 127.0.0.1
    expect(readFileSync(kubeconfigOf(A), 'utf8')).toMatch(/server: https:\/\/127\.0\.0\.1:\d+/);
    expect(await readyThrough(A)).toEqual(['kube-master', 'kube-node-1']);
    expect((await apiBinding(second, A)).HostIp).toBe('127.0.0.1');
    expect((await second.listNodes({ cluster: A })).map((n) => n.hostname)).toEqual(['kube-master', 'kube-node-1']);
    expect(await objectsOf(driver, A)).toEqual([]);
  });

  it('`list` and `status` read the engine DOCKER_HOST names', async () => {
    const there = await cli(['list', '--json'], remoteEnv);
    expect(there.code, there.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(there.stdout))).toContain(A);
    const here = await cli(['list', '--json'], NO_HOST);
    expect(here.code, here.stderr).toBe(0);
    expect(here.stdout).not.toContain(A);
    const status = await cli(['status', '--name', A, '--json'], remoteEnv);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: A, state: 'running' });
  });

  it('`down` and `clean` act on that engine only', async () => {
    const down = await cli(['down', '--name', A], remoteEnv);
    expect(down.code, down.stderr).toBe(0);
    expect(await second.listNodes({ cluster: A })).toEqual([]);
    // the snapshot stays there, for the next `up`
    expect((await second.images.list({ cluster: A, role: 'snapshot' })).length).toBe(2);
    const cleaned = await cli(['clean', '--name', A], remoteEnv);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await objectsOf(second, A)).toEqual([]);
    expect(await objectsOf(driver, A)).toEqual([]);
  });
});

describe('a remote engine through a Docker context (no DOCKER_HOST)', () => {
  let config: string;
  beforeAll(async () => {
    // made and selected by the docker CLI itself, so the stored format is the CLI's
    config = mkdtempSync(join(tmpdir(), 'lc-docker-config-'));
    const tls = join(DIR, 'client');
    const made = await run('docker', ['--config', config, 'context', 'create', 'rem-ctx', '--docker', `host=tcp://${ADDRESS}:${port},ca=${tls}/ca.pem,cert=${tls}/cert.pem,key=${tls}/key.pem`], NO_HOST);
    expect(made.code, made.stderr).toBe(0);
    const used = await run('docker', ['--config', config, 'context', 'use', 'rem-ctx'], NO_HOST);
    expect(used.code, used.stderr).toBe(0);
  });

  it("`up` follows the current context; the API server is published where this machine reaches the engine's host", async () => {
    const env = { ...NO_HOST, DOCKER_CONFIG: config };
    const t0 = Date.now();
    const r = await cli(['up', '--name', B, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.236.0.0/16'], env);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    console.log(`up through a context: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.stderr).toContain(`tcp://${ADDRESS}:${port}`);
    expect(r.stderr).toContain('Docker context "rem-ctx"');
    expect(readFileSync(kubeconfigOf(B), 'utf8')).toContain(`server: https://${ADDRESS}:`);
    // the certificate names that address (kubectl verifies it) and the port answers there
    expect(await readyThrough(B)).toEqual(['kube-master', 'kube-node-1']);
    if (ADDRESS !== '127.0.0.1') {
      expect(r.stderr).toContain('the engine runs on another machine');
      expect((await apiBinding(second, B)).HostIp).toBe('0.0.0.0');
    }
    expect((await second.listNodes({ cluster: B })).length).toBe(2);
    expect(await objectsOf(driver, B)).toEqual([]);
    const cleaned = await cli(['clean', '--name', B], env);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await objectsOf(second, B)).toEqual([]);
  });

  it('a context that does not exist is named, with where it was chosen', async () => {
    const r = await cli(['up', '--name', C, '--addons', ''], { ...NO_HOST, DOCKER_CONFIG: config, DOCKER_CONTEXT: 'no-such-context' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Docker context "no-such-context" (DOCKER_CONTEXT) does not exist');
  });
});

describe('a remote engine over ssh (DOCKER_HOST=ssh://)', () => {
  let sshEnv: Record<string, string>;
  beforeAll(async () => {
    // the user's key where ssh keeps it (no agent), and an OpenSSH server that lets it run the
    // engine's `docker system dial-stdio`, which is what an ssh DOCKER_HOST runs on the far side
    mkdirSync(join(testHome, '.ssh'), { recursive: true, mode: 0o700 });
    const key = join(testHome, '.ssh', 'id_ed25519');
    if (!existsSync(key)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const sshPort = await freePort();
    const started = await run('bash', [SCRIPT, 'sshd', DIR, String(sshPort), `${key}.pub`]);
    expect(started.code, started.stderr).toBe(0);
    sshEnv = { DOCKER_HOST: `ssh://root@127.0.0.1:${sshPort}`, SSH_AUTH_SOCK: '', DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '', DOCKER_CONTEXT: '' };
  });

  it('`up` makes the cluster there through ssh, Ready through the kubeconfig; `clean` removes it there', async () => {
    const t0 = Date.now();
    const r = await cli(['up', '--name', D, '--num-nodes', '0', '--addons', '', '--dind-subnet', '10.237.0.0/16'], sshEnv);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    console.log(`up over ssh: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.stderr).toContain(`at ${sshEnv.DOCKER_HOST}`);
    expect(r.stderr).not.toContain('DeprecationWarning');
    expect(await readyThrough(D)).toEqual(['kube-master']);
    expect((await second.listNodes({ cluster: D })).length).toBe(1);
    expect(await objectsOf(driver, D)).toEqual([]);
    const cleaned = await cli(['clean', '--name', D], sshEnv);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await objectsOf(second, D)).toEqual([]);
  });

  it('a key the server does not know: the ssh login is named, with how to give a key', async () => {
    const r = await cli(['list'], { ...sshEnv, HOME: mkdtempSync(join(tmpdir(), 'lc-no-key-')) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ssh login to ${sshEnv.DOCKER_HOST} (from DOCKER_HOST) failed`);
    expect(r.stderr).toContain('ssh-agent');
  });
});

describe('an engine that does not answer: a clear error, nothing created', () => {
  async function nothingOf(cluster: string): Promise<void> {
    expect(await objectsOf(driver, cluster)).toEqual([]);
    expect(await objectsOf(second, cluster)).toEqual([]);
    expect(existsSync(kubeconfigOf(cluster))).toBe(false);
  }

  it('DOCKER_HOST at a closed port: refused within seconds, naming DOCKER_HOST and the address', async () => {
    const closed = await freePort();
    const t0 = Date.now();
    const r = await cli(['up', '--name', C, '--num-nodes', '1', '--addons', ''], { ...remoteEnv, DOCKER_HOST: `tcp://127.0.0.1:${closed}` });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The container engine is not reachable at tcp://127.0.0.1:${closed} (from DOCKER_HOST): connection refused. Start it or fix or unset DOCKER_HOST; nothing was changed.`);
    expect(seconds).toBeLessThan(15);
    await nothingOf(C);
    const list = await cli(['list'], { ...remoteEnv, DOCKER_HOST: `tcp://127.0.0.1:${closed}` });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(`tcp://127.0.0.1:${closed} (from DOCKER_HOST)`);
  });

  it('something that accepts the connection but never answers: refused after the answer timeout', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const t0 = Date.now();
      const r = await cli(['up', '--name', C, '--num-nodes', '1', '--addons', ''], { DOCKER_HOST: `tcp://127.0.0.1:${silentPort}`, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`not reachable at tcp://127.0.0.1:${silentPort} (from DOCKER_HOST): no answer within 20 s`);
      expect((Date.now() - t0) / 1000).toBeLessThan(40);
      await nothingOf(C);
    } finally {
      silent.close();
    }
  });

  it('bad TLS material: the file is named; certificates of another CA fail the handshake, naming the address', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'lc-bad-tls-'));
    for (const f of ['ca.pem', 'cert.pem']) writeFileSync(join(bad, f), readFileSync(join(DIR, 'client', f)));
    writeFileSync(join(bad, 'key.pem'), 'not a key\n');
    const garbage = await cli(['up', '--name', C, '--addons', ''], { ...remoteEnv, DOCKER_CERT_PATH: bad });
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain(`The TLS client key ${join(bad, 'key.pem')} is not valid PEM`);

    // an engine that speaks TLS, asked without it
    const plain = await cli(['list'], { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('speaks TLS, but no TLS was asked for');
    expect(plain.stderr).toContain('DOCKER_TLS_VERIFY=1');

    const other = join(bad, 'other');
    mkdirSync(other);
    const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: other, stdio: 'pipe' });
    sh('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=another CA');
    sh('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'c.csr', '-subj', '/CN=client');
    sh('x509', '-req', '-in', 'c.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '1');
    const untrusted = await cli(['up', '--name', C, '--addons', ''], { ...remoteEnv, DOCKER_CERT_PATH: other });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain(`the TLS handshake with tcp://127.0.0.1:${port} (from DOCKER_HOST) failed`);
    expect(untrusted.stderr).toContain(`Check the TLS files in ${other}`);
    await nothingOf(C);
  });
});
