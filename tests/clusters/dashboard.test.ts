import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean, waitFor } from '@local-cluster/core';
import { CLI, cli, driver, kubectlFor, ROOT, run, testHome, toolHome } from './helpers.js';

// `local-cluster up` with the default addons (storage, metrics-server, dashboard), as a user on a
// fresh machine gets them: the dashboard page opened in a real headless browser (Debian's
// chromium) through the URL `local-cluster dashboard` prints, a PVC bound by the default
// StorageClass, `kubectl top nodes`, and the addons back from the snapshot without reinstalling.
const NAME = `dash-${process.pid}`;
const SUBNET = '10.208.0.0/16';
const kubectl = kubectlFor(NAME);
const ARTIFACTS = join(ROOT, 'tests/clusters/artifacts');
let proxy: ChildProcess | undefined;

afterAll(async () => {
  proxy?.kill('SIGINT');
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

const retry = <T>(what: string, fn: () => Promise<T | undefined>) => waitFor(what, fn, { timeoutMs: 120_000, intervalMs: 2000 });

/** The page as Debian's chromium renders it (scripts run, API calls made), as HTML. */
async function renderedPage(url: string, screenshot?: string): Promise<string> {
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--window-size=1400,1000', '--virtual-time-budget=15000'];
  if (screenshot) {
    const shot = await run('chromium', [...flags, `--screenshot=${screenshot}`, url]);
    expect(shot.code, shot.stderr.slice(-1000)).toBe(0);
  }
  const dom = await run('chromium', [...flags, '--dump-dom', url]);
  expect(dom.code, dom.stderr.slice(-1000)).toBe(0);
  return dom.stdout;
}

describe('the default addons: storage, metrics-server and the dashboard', () => {
  let url = '';
  /** What the writer pod wrote to its volume, once. */
  let written = '';

  it('`up` with defaults installs them on the control plane, their images loaded there only, and returns without waiting for them', async () => {
    const r = await cli(['up', '--name', NAME, '--dind-subnet', SUBNET]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    for (const addon of ['storage', 'metrics-server', 'dashboard']) expect(r.stderr).toContain(`addon ${addon} installed (not waited for: it starts in the background)`);
    const placed = await retry('the addons to be scheduled', async () => {
      const out = (await kubectl('get', 'pods', '-A', '-l', 'local-cluster.dev/background=true', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.nodeName} {end}')).stdout.trim();
      return out.split(' ').length === 3 && !out.includes('= ') && !out.endsWith('=') ? out : undefined;
    });
    expect(placed.split(' ').map((p) => p.split('=')[1])).toEqual(['kube-master', 'kube-master', 'kube-master']);
    // what every node's containerd holds: the addons' images on the control plane, not on the workers
    const images = async (node: string) => (await run('docker', ['exec', `local-cluster-${NAME}-${node}`, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])).stdout;
    expect(await images('kube-master')).toMatch(/local-cluster\/dashboard:/);
    expect(await images('kube-master')).toContain('metrics-server/metrics-server:');
    for (const worker of ['kube-node-1', 'kube-node-2']) {
      const listed = await images(worker);
      expect(listed).toContain('pause'); // the listing worked
      expect(listed).not.toMatch(/dashboard|metrics-server|local-path-provisioner/);
    }
  });

  it('a PVC of the default StorageClass binds and a pod writes to it', async () => {
    const manifest = join(mkdtempSync(join(tmpdir(), 'lc-dash-')), 'writer.yaml');
    writeFileSync(
      manifest,
      `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  containers:
  - name: writer
    image: docker.io/local-cluster/toolbox:1
    imagePullPolicy: Never
    # writes once, a stamp of its own (busybox's date has no %N): a restore that emptied the
    # volume would get a new stamp, not the same one
    command: ["sh", "-c", "test -e /data/file || echo written to the volume: $(cat /proc/sys/kernel/random/uuid) > /data/file; cat /data/file; echo hello from the writer pod; exec sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`,
    );
    expect((await kubectl('apply', '-f', manifest)).code).toBe(0);
    const ready = await kubectl('wait', '--for=condition=Ready', 'pod/writer', '--timeout=120s');
    expect(ready.code, ready.stderr).toBe(0);
    expect((await kubectl('get', 'pvc', 'data', '-o', 'jsonpath={.status.phase} {.spec.storageClassName}')).stdout).toBe('Bound standard');
    written = (await kubectl('exec', 'writer', '--', 'cat', '/data/file')).stdout;
    expect(written).toMatch(/^written to the volume: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/);
  });

  it('`kubectl top nodes` shows every node', async () => {
    const nodes = await retry('kubectl top nodes', async () => {
      const r = await kubectl('top', 'nodes', '--no-headers');
      const names = r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean).sort();
      return r.code === 0 && names.length === 3 ? names : undefined;
    });
    expect(nodes).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    const pods = await retry('kubectl top pods', async () => {
      const r = await kubectl('top', 'pods', '-n', 'default', '--no-headers');
      return r.code === 0 && r.stdout.includes('writer') ? r.stdout : undefined;
    });
    expect(pods).toMatch(/^writer\s+\d+m\s+\d+Mi/m);
  });

  it('`local-cluster dashboard` prints a URL whose page, in headless chromium, lists the nodes and their usage', async () => {
    proxy = spawn(process.execPath, [CLI, 'dashboard', '--name', NAME, '--port', '0', '--no-open'], {
      env: { ...process.env, HOME: testHome, LOCAL_CLUSTER_HOME: toolHome },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proxy!.stdout! }).on('line', (line) => {
        const m = /(http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(line);
        if (m) resolve(m[1]!);
      });
      proxy!.once('close', (code) => reject(new Error(`dashboard exited ${code}`)));
    });
    expect(url).toMatch(/\/api\/v1\/namespaces\/local-cluster-dashboard\/services\/http:dashboard:80\/proxy\/$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, 'dashboard-overview.png');
    const page = await renderedPage(`${url}#/`, screenshot);
    for (const node of ['kube-master', 'kube-node-1', 'kube-node-2']) expect(page).toContain(`<span class="node-name">${node}</span>`);
    // usage as `kubectl top` prints it, with a share of the node's capacity (not raw quantities such as 84410475n, 568784Ki)
    expect(page).toMatch(/<td>\d+m \(\d+%\) CPU, \d+(\.\d)? (MiB|GiB) \(\d+%\)<\/td>/);
    expect(existsSync(screenshot) && statSync(screenshot).size).toBeGreaterThan(10_000);
  });

  it("shows a pod's live logs, and the local-cluster view names the CNI", async () => {
    const logs = await renderedPage(`${url}#/logs/default/writer`, join(ARTIFACTS, 'dashboard-logs.png'));
    expect(logs).toMatch(/<pre id="logs"[^>]*>[^<]*hello from the writer pod/);
    const info = await renderedPage(`${url}#/local-cluster`);
    expect(info).toContain('<span id="cni">bridge</span>');
    expect(info).toContain('No checks run yet');
    // `check` leaves its results where the dashboard shows them
    const quick = await cli(['check', '--name', NAME]);
    expect(quick.code, quick.stderr.slice(-2000)).toBe(0);
    const checks = await renderedPage(`${url}#/local-cluster`);
    expect(checks).toMatch(/<table id="checks">.*pods on every node reach each other.*<span class="ok">pass<\/span>/s);
  });

  it('the dashboard only reads: writes and Secrets are refused', async () => {
    const api = `${url}k8s/api/v1`;
    expect((await fetch(`${api}/namespaces/default/pods`)).status).toBe(200);
    expect((await fetch(`${api}/namespaces/default/secrets`)).status).toBe(403);
    expect((await fetch(`${api}/namespaces`, { method: 'POST', body: '{}' })).status).toBe(403);
  });

  it('Ctrl-C stops the proxy', async () => {
    expect(proxy?.exitCode, 'the dashboard command is running').toBeNull();
    const closed = new Promise<number | null>((resolve) => proxy!.once('close', resolve));
    proxy!.kill('SIGINT');
    expect(await closed).toBe(0);
    await expect(fetch(url, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
  });

  it('after `down`, `up` brings the addons and the pods that ran back from the snapshot, the volume\'s data kept', async () => {
    const downAt = Date.now() - 1000; // the nodes share this machine's clock; a second for rounding
    expect((await cli(['down', '--name', NAME])).code).toBe(0);
    const r = await cli(['up', '--name', NAME, '--dind-subnet', SUBNET]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('restored from its snapshot');
    expect(r.stderr).not.toContain('Install addons');
    // a restoring `up` returns once the pods that ran before `down` run again: the writer pod
    // answers at once, its container started by this run, and reads what it wrote before
    expect(r.stderr).not.toContain('not Ready again');
    const started = await kubectl('get', 'pod', 'writer', '-o', 'jsonpath={.status.containerStatuses[0].state.running.startedAt}');
    expect(Date.parse(started.stdout), `the writer's container started by the restore (${started.stdout})`).toBeGreaterThanOrEqual(downAt);
    expect((await kubectl('exec', 'writer', '--', 'cat', '/data/file')).stdout).toBe(written);
    const deployments = await retry('the addons to be ready again', async () => {
      const out = (await kubectl('get', 'deployments', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas} {end}')).stdout;
      return /dashboard=1/.test(out) && /metrics-server=1/.test(out) && /local-path-provisioner=1/.test(out) ? out : undefined;
    });
    expect(deployments).toContain('dashboard=1');
  });

  it('`dashboard` on a cluster that is not up names `up`', async () => {
    const r = await cli(['dashboard', '--name', `${NAME}-none`, '--no-open']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cluster "${NAME}-none" is not up`);
  });
});
