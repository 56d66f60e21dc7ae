import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { kubectlFor } from './helpers.js';

// What connect.test.ts and shared-network.test.ts put in their two clusters: a web pod behind a
// NodePort in the second, and a probe pod in the first to reach it from.
type Kubectl = ReturnType<typeof kubectlFor>;
const TOOLBOX = 'docker.io/local-cluster/toolbox:1';

/** A pod answering "hello from GREETING" on 8080 and a NodePort Service on `nodePort`; resolves to the pod's address once Ready. */
export async function webBehindNodePort(kubectl: Kubectl, greeting: string, nodePort: number): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'lc-web-')), 'web.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: web
    image: ${TOOLBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo hello from ${greeting} > /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: ${nodePort}}]
`,
  );
  expect((await kubectl('apply', '-f', file)).code).toBe(0);
  expect((await kubectl('wait', '--for=condition=Ready', 'pod/web', '--timeout=120s')).code).toBe(0);
  return (await kubectl('get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}')).stdout;
}

/** A pod named probe that sleeps, Ready; `kubectl exec probe -- wget ...` reaches out from it. */
export async function probePod(kubectl: Kubectl): Promise<void> {
  const probe = await kubectl('run', 'probe', '--image', TOOLBOX, '--image-pull-policy', 'Never', '--restart', 'Never', '--command', '--', 'sleep', '3600');
  expect(probe.code, probe.stderr).toBe(0);
  expect((await kubectl('wait', '--for=condition=Ready', 'pod/probe', '--timeout=120s')).code).toBe(0);
}

/** The control plane's address on its cluster network. */
export async function controlPlaneIp(kubectl: Kubectl): Promise<string> {
  return (await kubectl('get', 'node', 'kube-master', '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}')).stdout;
}
