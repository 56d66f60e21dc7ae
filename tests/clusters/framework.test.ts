import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean } from '@local-cluster/core';
import { createCluster, type ClusterHandle } from 'local-cluster';
import { environment, type Environment } from 'local-cluster/framework';
import { driver, leftovers, toolHome } from './helpers.js';

// The test framework (local-cluster/framework) for out-of-tree components, on one cluster shared by the file (as a vitest
// globalSetup would share it across a suite): a namespace per test, manifests with readiness
// waits, Service and log assertions, features to skip by, artifacts on failure.
const NAME = `fw-${process.pid}`;
let cluster: ClusterHandle;
let env: Environment;

beforeAll(async () => {
  cluster = await createCluster({ cluster: { name: NAME, numNodes: 1, addons: ['storage'] }, dind: { subnet: '10.215.0.0/16' }, home: toolHome });
  env = environment(cluster, { env: { LOCAL_CLUSTER_E2E_GREETING: 'hello from a parameter' }, argv: [] });
});

afterAll(async () => {
  await cluster?.dispose();
  expect(await leftovers(NAME)).toEqual([]);
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

const app = (greeting: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: page}
data: {index.html: "${greeting}"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: docker.io/local-cluster/toolbox:1
        imagePullPolicy: Never
        command: ["sh", "-c", "echo serving; exec httpd -f -p 8080 -h /www"]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
        volumeMounts: [{name: page, mountPath: /www}]
      volumes: [{name: page, configMap: {name: page}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

describe('the test framework', () => {
  it('gives each test a namespace of its own in well under a second', async () => {
    const times: number[] = [];
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      await using ns = await env.namespace('timing');
      times.push(ns.setupMs);
      names.add(ns.name);
    }
    expect(names.size).toBe(5);
    console.log(`namespace setup: ${times.map((t) => Math.round(t)).join(', ')} ms`);
    expect(Math.max(...times)).toBeLessThan(1000);
  });

  it('applies a multi-document manifest with readiness waits; the Service answers; logs contain what the pods said', async () => {
    await using ns = await env.namespace('app');
    const created = await ns.apply(app(env.params.greeting!));
    expect(created.map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment', 'Service']);
    // ready when apply returns
    const deployment = await ns.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
    expect(deployment.status?.readyReplicas).toBe(2);
    expect(await ns.serviceAnswers('web', 80, '/')).toContain('hello from a parameter');
    const pod = await ns.podReady('app=web');
    expect(await ns.logsContain(pod.metadata!.name!, 'serving')).toContain('serving');
  });

  it('knows what the cluster supports, for skipping', () => {
    expect(env.supports('StorageClass', 'MultiNode')).toBe(true);
    expect(env.skipUnless('NetworkPolicy')).toBe('the cluster lacks NetworkPolicy');
    expect(env.skipUnless('StorageClass')).toBeUndefined();
  });

  it('collects artifacts (pods, events, every container log) of a failing workload', async () => {
    await using ns = await env.namespace('broken');
    // running, never Ready: apply's readiness wait gives up
    const failing = ns.apply(
      `apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - name: main
    image: docker.io/local-cluster/toolbox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "echo about to fail; exec sleep 3600"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
`,
      { timeoutMs: 8000 },
    );
    await expect(failing).rejects.toThrow(/Timed out after 8s waiting for pod crasher/);
    const dir = await ns.collectArtifacts(mkdtempSync(join(tmpdir(), 'lc-artifacts-')));
    expect(JSON.parse(readFileSync(join(dir, 'pods.json'), 'utf8'))[0].metadata.name).toBe('crasher');
    expect(readFileSync(join(dir, 'crasher.main.log'), 'utf8')).toContain('about to fail');
    expect(existsSync(join(dir, 'events.txt'))).toBe(true);
  });

  it('a namespace is gone (terminating) after its test', async () => {
    let name = '';
    {
      await using ns = await env.namespace('gone');
      name = ns.name;
    }
    const phase = await env.core.readNamespace({ name }).then((n) => n.status?.phase, () => 'Gone');
    expect(['Terminating', 'Gone']).toContain(phase);
  });
});
