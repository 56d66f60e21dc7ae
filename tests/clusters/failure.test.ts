import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CNI_API_VERSION, isStepError, loadConfig, up, type CniPlugin } from '@local-cluster/core';
import { nodeImage } from '@local-cluster/images';
import { CLI, driver, testHome, toolHome, leftovers } from './helpers.js';


describe('failures leave nothing half-made behind', () => {
  it('Ctrl-C during up removes what the run created', async () => {
    const cluster = `e2e-int-${process.pid}`;
    const child = spawn(process.execPath, [CLI, 'up', '--name', cluster, '--num-nodes', '1', '--dind-subnet', '10.195.0.0/16'], {
      env: { ...process.env, HOME: testHome, LOCAL_CLUSTER_HOME: toolHome },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // interrupt once nodes exist, while they boot
        if (/Boot nodes \.\.\./.test(stderr)) resolve();
      });
      exited.then(() => reject(new Error(`up exited before nodes were created:\n${stderr}`)));
    });
    expect((await driver.listNodes({ cluster })).length).toBe(2);
    child.kill('SIGINT');
    const code = await exited;
    expect(code).not.toBe(0);
    expect(stderr).toContain('cancelled');
    expect(stderr).toMatch(/rolled back: node containers/);
    expect(await leftovers(cluster)).toEqual([]);
  });

  it('a failing kubeadm init rolls back, keeps its output and the nodes logs, and says where', async () => {
    const cluster = `e2e-fail-${process.pid}`;
    // a CNI that hands kubeadm a pod subnet it rejects
    const broken: CniPlugin = {
      apiVersion: CNI_API_VERSION,
      kind: 'cni',
      name: 'broken',
      defaultPodSubnet: '10.244.0.0/16',
      configure: () => ({ podSubnet: '10.244.0.0/33' }),
    };
    const { config } = loadConfig({ overrides: { cluster: { name: cluster, numNodes: 0 }, dind: { subnet: '10.196.0.0/16' } }, env: {} });
    const error = await up({ config, driver, cni: broken, nodeImage: nodeImage(config), home: toolHome, userKubeconfig: false }).catch((e: unknown) => e);
    expect(isStepError(error)).toBe(true);
    if (!isStepError(error)) return;
    expect(error.step).toBe('kubeadm-init');
    expect(error.describe()).toContain(`Logs are in ${error.logsDir}`);
    const files = readdirSync(error.logsDir!);
    expect(files).toEqual(expect.arrayContaining(['kubeadm-init.log', 'kube-master-kubelet.log', 'kube-master-containerd.log']));
    expect(readFileSync(join(error.logsDir!, 'kubeadm-init.log'), 'utf8')).toMatch(/podSubnet|pod-network-cidr|10\.244\.0\.0\/33/i);
    expect(existsSync(error.logsDir!)).toBe(true);
    expect(await leftovers(cluster)).toEqual([]);
  });
});
