import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, lockFile, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, readyNodes, ROOT, run, toolHome } from './helpers.js';

// The Docker engine restarts for real (systemd's docker unit, or the dockerd this project's
// scripts started): the cluster comes back to Ready on its own, with its data, addresses and API
// port; `up` then says it is up. A node container someone stopped is started again by `up`.
const NAME = `restart-${process.pid}`;
const LOCKED = `restart-lock-${process.pid}`;
const kubectl = kubectlFor(NAME);

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
  await clean({ driver, cluster: LOCKED }).catch(() => undefined);
});

/** The file that freezes a container's whole cgroup (v1 freezer, or v2 cgroup.freeze). */
function freezeFile(id: string): { file: string; frozen: string } {
  const v1 = `/sys/fs/cgroup/freezer/docker/${id}/freezer.state`;
  if (existsSync(v1)) return { file: v1, frozen: 'FROZEN' };
  for (const dir of [`/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`]) if (existsSync(`${dir}/cgroup.freeze`)) return { file: `${dir}/cgroup.freeze`, frozen: '1' };
  throw new Error(`no freezer for container ${id} on this machine`);
}

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
    // the engine behind /var/run/docker.sock only (its default pidfile): another dockerd on this machine is not ours
    const pid = readFileSync('/var/run/docker.pid', 'utf8').trim();
    await run('kill', ['-TERM', pid]);
    await waitFor('dockerd to exit', async () => (existsSync(`/proc/${pid}`) ? undefined : true), { timeoutMs: 120_000 });
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
    const pod = await kubectl('run', 'after', '--image=docker.io/local-cluster/toolbox:1', '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'sh', '-c', 'echo ran-after-restart');
    expect(pod.code, pod.stderr).toBe(0);
    await waitFor('pod "after" to succeed', async () => ((await kubectl('get', 'pod', 'after', '-o', 'jsonpath={.status.phase}')).stdout === 'Succeeded' ? true : undefined), { timeoutMs: 120_000 });
    expect((await kubectl('logs', 'after')).stdout.trim()).toBe('ran-after-restart');
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

  it('one command per cluster: `clean` during an `up` is refused, naming it; a frozen node is thawed and removed', async () => {
    const args = ['--name', LOCKED, '--num-nodes', '0', '--addons', '', '--dind-subnet', '10.222.0.0/16'];
    const upRun = cli(['up', ...args]);
    await waitFor('the up to hold the lock', async () => (existsSync(lockFile(toolHome, LOCKED)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    const refused = await cli(['clean', '--name', LOCKED]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`Cluster "${LOCKED}" is busy: \`local-cluster up --name ${LOCKED}\` \\(pid \\d+\\) has been running for \\d+ s`));
    const second = await cli(['up', ...args]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('is busy');
    const done = await upRun;
    expect(done.code, done.stderr.slice(-2000)).toBe(0);
    expect(existsSync(lockFile(toolHome, LOCKED))).toBe(false);
    // freeze the node container's whole cgroup, as an interrupted nested runc can leave it
    const node = (await driver.listNodes({ cluster: LOCKED, role: 'node' }))[0]!;
    const { file, frozen } = freezeFile(node.id);
    writeFileSync(file, frozen);
    const removed = await cli(['clean', '--name', LOCKED]);
    expect(removed.code, removed.stderr.slice(-2000)).toBe(0);
    expect(await leftovers(LOCKED)).toEqual([]);
  });
});
