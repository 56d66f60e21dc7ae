import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerName, ensureImage, waitFor } from '@local-cluster/core';
import { type ConformanceReport } from '@local-cluster/verify';
import { CLI, cli, driver, run, testHome, toolHome } from './helpers.js';
import { sharedCluster } from './shared-clusters.js';

// Kubernetes' own e2e suite (e2e.test of the cluster's version, built from the module
// proxy) against a real cluster (the run's shared bridge cluster: the suite's tests make their
// own namespaces and remove them), with every image its tests use built offline.
const { name: NAME, kubectl } = sharedCluster('bridge');

const parse = (stdout: string) => JSON.parse(stdout) as ConformanceReport;

describe('local-cluster e2e: the upstream conformance suite', () => {
  it('refuses to run without a cluster, naming `up`; --quick names `check`', async () => {
    const none = `e2e-conf-none-${process.pid}`;
    const r = await cli(['e2e', 'DNS', '--name', none]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cluster "${none}" is not up`);
    expect(r.stderr).toContain(`local-cluster up --name ${none}`);
    // the quick checks are a command of their own; `e2e` is the upstream suite only
    const quick = await cli(['e2e', '--quick', '--name', none]);
    expect(quick.code).not.toBe(0);
    expect(quick.stderr).toContain('--quick is gone. The quick checks are a command of their own: run `local-cluster check`');
  });

  it('runs focused tests on a 3-node bridge cluster: the removed-Service-port test passes (its traffic no longer leaves the nodes), JSON and JUnit reports', async () => {
    const junit = mkdtempSync(join(tmpdir(), 'lc-junit-'));
    const r = await cli(['e2e', '--name', NAME, '--json', '--junit', junit, '--focus-regex', 'same port and different protocols|DNS should provide DNS for the cluster \\[|intra-pod communication: udp']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const report = parse(r.stdout);
    expect(report).toMatchObject({ kubernetesVersion: 'v1.34.4', selected: 3, passed: 3, failed: 0, skipped: 0 });
    expect(report.specs.map((s) => s.name).sort()).toEqual([
      '[sig-network] DNS should provide DNS for the cluster [Conformance]',
      '[sig-network] Networking Granular Checks: Pods should function for intra-pod communication: udp [NodeConformance] [Conformance]',
      '[sig-network] Services should serve endpoints on same port and different protocols [Conformance]',
    ]);
    const xml = readFileSync(join(junit, 'junit_e2e.xml'), 'utf8');
    expect(xml).toContain('should serve endpoints on same port and different protocols');
    expect(existsSync(report.log)).toBe(true);
    // live progress: one line per finished test on stderr (JSON events with --json)
    expect(r.stderr.split('\n').filter((l) => l.includes('"type":"test-end"'))).toHaveLength(3);
  });

  it('a focus is a substring of test names: `e2e DNS --list` lists only DNS tests; one that matches nothing fails with a clear message', async () => {
    const list = await cli(['e2e', 'DNS', '--list', '--name', NAME]);
    expect(list.code, list.stderr).toBe(0);
    const names = list.stdout.trim().split('\n').slice(0, -1);
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const n of names) expect(n).toContain('DNS');
    expect(list.stdout).toMatch(new RegExp(`${names.length} test\\(s\\) of Kubernetes v1.34.4 selected`));

    const none = await cli(['e2e', 'no test is called like this', '--name', NAME]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('No test of Kubernetes v1.34.4\'s e2e suite is matching "no test is called like this"');
    expect(none.stdout).not.toMatch(/0 passed/);

    const badRegex = await cli(['e2e', '--focus-regex', '(unclosed', '--name', NAME]);
    expect(badRegex.code).not.toBe(0);
    expect(badRegex.stderr).toMatch(/test filters were refused/);
  });

  it('e2e-serial runs [Serial] tests one at a time and reports', async () => {
    const list = await cli(['e2e-serial', '--list', '--name', NAME]);
    expect(list.stdout).toMatch(/\b(2\d|[3-9]\d) test\(s\) of Kubernetes v1.34.4 selected \(labels "Conformance && Serial"\)/);
    const r = await cli(['e2e-serial', 'Namespaces [Serial] should patch a Namespace', '--name', NAME]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/1 passed, 0 failed, 0 skipped of 1 in .* \(1 in parallel\)/);
    // progress names the test (a serial run prints the name before the test, not after)
    expect(r.stderr).toMatch(/\[1\/1\] PASS \[sig-api-machinery\] Namespaces \[Serial\] should patch a Namespace \[Conformance\] \(/);
    expect(r.stdout).toMatch(/sig-api-machinery\s+1\s+0\s+0/);
    // the nodes hold the test images from the first run: nothing is loaded again
    expect(r.stderr).not.toMatch(/loaded \d+ image\(s\)/);
  });

  it('load image makes an image built on the host runnable with imagePullPolicy Never; load archive imports a docker save tar; kubeconfig prints the admin kubeconfig, and with --internal one a container on the cluster network uses', async () => {
    const ref = `local-cluster-test/loaded:${process.pid}`;
    const archiveRef = `local-cluster-test/archived:${process.pid}`;
    const logger = { info: () => undefined, debug: () => undefined, warn: () => undefined };
    const signal = new AbortController().signal;
    for (const [name, text] of [[ref, 'loaded by name'], [archiveRef, 'loaded from an archive']] as const) {
      await ensureImage({ image: { ref: name, recipe: { shell: true, files: [{ path: '/hello', content: `${text}\n` }], cmd: ['cat', '/hello'] } }, neededBy: 'the load test' }, { driver, cacheDir: join(toolHome, 'cache', 'images'), logger, signal });
    }
    const tar = join(mkdtempSync(join(tmpdir(), 'lc-archive-')), 'image.tar');
    try {
      expect((await run('docker', ['save', '-o', tar, archiveRef])).code).toBe(0);
      const byName = await cli(['load', 'image', ref, '--name', NAME]);
      expect(byName.code, byName.stderr).toBe(0);
      const byArchive = await cli(['load', 'archive', tar, '--name', NAME]);
      expect(byArchive.code, byArchive.stderr).toBe(0);
      for (const [pod, image, text] of [['loaded', ref, 'loaded by name'], ['archived', archiveRef, 'loaded from an archive']] as const) {
        await kubectl('run', pod, `--image=${image}`, '--image-pull-policy=Never', '--restart=Never');
        const done = await kubectl('wait', '--for=jsonpath={.status.phase}=Succeeded', `pod/${pod}`, '--timeout=120s');
        expect(done.code, done.stderr).toBe(0);
        expect((await kubectl('logs', pod)).stdout.trim()).toBe(text);
        await kubectl('delete', 'pod', pod, '--wait=false');
      }
      const kubeconfig = await cli(['kubeconfig', '--name', NAME]);
      expect(kubeconfig.stdout).toBe(readFileSync(join(toolHome, 'clusters', NAME, 'admin.conf'), 'utf8'));
      expect((await cli(['kubeconfig', '--path', '--name', NAME])).stdout.trim()).toBe(join(toolHome, 'clusters', NAME, 'admin.conf'));
      // --internal: the server is the control plane on the cluster network, and a container there lists the nodes with it
      const internal = await cli(['kubeconfig', '--internal', '--name', NAME]);
      expect(internal.code, internal.stderr).toBe(0);
      expect(internal.stdout).toMatch(/server: https:\/\/10\.218\.0\.2:6443\n/);
      const conf = join(mkdtempSync(join(tmpdir(), 'lc-internal-')), 'internal.conf');
      writeFileSync(conf, internal.stdout);
      const master = containerName(NAME, 'kube-master');
      const image = (await run('docker', ['inspect', '-f', '{{.Config.Image}}', master])).stdout.trim();
      const listed = await run('docker', ['run', '--rm', '--network', `local-cluster-${NAME}`, '-v', `${conf}:/internal.conf:ro`, '--entrypoint', 'kubectl', image, '--kubeconfig', '/internal.conf', 'get', 'nodes', '-o', 'name']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout.trim().split('\n')).toEqual(['node/kube-master', 'node/kube-node-1', 'node/kube-node-2']);
      const both = await cli(['kubeconfig', '--internal', '--path', '--name', NAME]);
      expect(both.code).not.toBe(0);
      expect(both.stderr).toContain('--internal and --path do not go together');
    } finally {
      for (const name of [ref, archiveRef]) await driver.images.remove(name, { role: 'image' }).catch(() => undefined);
    }
  });

  it('Ctrl-C stops the run and removes the test namespaces it created', async () => {
    const e2eNamespaces = async () =>
      (await kubectl('get', 'namespaces', '-l', 'e2e-framework', '-o', 'jsonpath={.items[*].metadata.name}')).stdout.split(/\s+/).filter(Boolean);
    const before = new Set(await e2eNamespaces());
    const child = spawn(process.execPath, [CLI, 'e2e', '--name', NAME, 'should serve multiport endpoints from pods'], {
      env: { ...process.env, HOME: testHome, LOCAL_CLUSTER_HOME: toolHome },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
    // wait until the test has made its namespace
    const made = await waitFor('the e2e run to make its test namespace', async () => {
      const ours = (await e2eNamespaces()).filter((ns) => !before.has(ns));
      return ours.length > 0 ? ours : undefined;
    }, { timeoutMs: 600_000, intervalMs: 1000 }).catch((e: Error) => {
      throw new Error(`${e.message}; the run said: ${stderr.slice(-2000)}`);
    });
    child.kill('SIGINT');
    const code = await exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/cancelled/);
    // every namespace the run made is gone or going
    for (const ns of made) {
      const phase = (await kubectl('get', 'namespace', ns, '-o', 'jsonpath={.status.phase}', '--ignore-not-found')).stdout.trim();
      expect(['', 'Terminating'], `namespace ${ns}`).toContain(phase);
    }
  });
});
