import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, readyNodes, ROOT, run, toolHome } from './helpers.js';

// The Docker engine restarts for real (systemd's docker unit, or the dockerd this project's
// scripts started): the cluster comes back to Ready on its own, with its data, addresses and API
// port; `up` then says it is up. A node container someone stopped is started again by `up`.
const NAME = `restart-${process.pid}`;
const kubectl = kubectlFor(NAME);

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

function engineAnswers(): boolean {
  try {
    execFileSync('curl', ['-fsS', '--max-time', '3', '--unix-socket', '/var/run/docker.sock', 'http://docker/_ping'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Stops the engine and starts it again, the way this machine runs it. */
async function restartEngine(): Promise<void> {
  const systemd = (await run('systemctl', ['is-active', '--quiet', 'docker'])).code === 0;
  if (systemd) {
    expect((await run('systemctl', ['restart', 'docker'])).code).toBe(0);
  } else {
    await run('pkill', ['-TERM', '-x', 'dockerd']);
    await waitFor('dockerd to exit', async () => ((await run('pgrep', ['-x', 'dockerd'])).code !== 0 ? true : undefined), { timeoutMs: 120_000 });
    expect(engineAnswers()).toBe(false);
    const started = await run('bash', [join(ROOT, 'scripts', 'ensure-docker.sh')]);
    expect(started.code, started.stderr).toBe(0);
  }
  await waitFor('the engine to answer', async () => (engineAnswers() ? true : undefined), { timeoutMs: 120_000 });
}

const server = () => /server:\s*(\S+)/.exec(readFileSync(join(toolHome, 'clusters', NAME, 'admin.conf'), 'utf8'))?.[1];

describe('restarts', () => {
  it('after the engine restarts, the cluster is Ready again on its own: same data, addresses and API port', async () => {
    const r = await cli(['up', '--name', NAME, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.221.0.0/16']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect((await kubectl('create', 'configmap', 'kept', '--from-literal=written=before-restart')).code).toBe(0);
    const before = { server: server(), ips: await Promise.all((await driver.listNodes({ cluster: NAME, role: 'node' })).map((n) => n.ip())) };

    await restartEngine();

    // on its own: the nodes' restart policy brings them back, the kubeconfig still points at the API
    await waitFor(
      'both nodes Ready again',
      async () => {
        const nodes = await kubectl('get', 'nodes', '-o', 'json');
        return nodes.code === 0 && readyNodes(nodes.stdout).length === 2 ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 3000 },
    );
    expect((await kubectl('get', 'configmap', 'kept', '-o', 'jsonpath={.data.written}')).stdout).toBe('before-restart');
    const after = { server: server(), ips: await Promise.all((await driver.listNodes({ cluster: NAME, role: 'node' })).map((n) => n.ip())) };
    expect(after).toEqual(before);
    // a pod runs on the restarted cluster
    const pod = await kubectl('run', 'after', '--image=docker.io/local-cluster/toolbox:1', '--image-pull-policy=Never', '--restart=Never', '--', 'true');
    expect(pod.code, pod.stderr).toBe(0);
    await waitFor('pod "after" to succeed', async () => ((await kubectl('get', 'pod', 'after', '-o', 'jsonpath={.status.phase}')).stdout === 'Succeeded' ? true : undefined), { timeoutMs: 120_000 });
    const again = await cli(['up', '--name', NAME, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.221.0.0/16']);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(again.stdout).toContain('already up');
  });

  it('`up` starts a node container that was stopped, and waits for it to be Ready', async () => {
    const worker = (await driver.listNodes({ cluster: NAME, role: 'node' })).find((n) => n.hostname === 'kube-node-1')!;
    await worker.stop({ timeoutSeconds: 10 });
    const r = await cli(['up', '--name', NAME, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.221.0.0/16']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('up again (its stopped node containers started, data kept)');
    expect(r.stderr).toContain('starting kube-node-1');
    expect(readyNodes((await kubectl('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', 'kube-node-1']);
    expect((await kubectl('get', 'configmap', 'kept', '-o', 'jsonpath={.data.written}')).stdout).toBe('before-restart');
  });
});
