import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, ROOT } from './helpers.js';

// Addons beyond the built-in ones: a third-party npm package (examples/addon-echo) named in the
// config, and a manifest file whose workloads `up` waits for. Bad addons are refused before
// anything is made.
const NAME = `addons-${process.pid}`;
const BAD = `addons-bad-${process.pid}`;
const SUBNET = '10.209.0.0/16';
const project = mkdtempSync(join(tmpdir(), 'lc-addons-'));
mkdirSync(join(project, 'node_modules'));
symlinkSync(join(ROOT, 'examples', 'addon-echo'), join(project, 'node_modules', 'local-cluster-addon-echo'));
writeFileSync(
  join(project, 'greeter.yaml'),
  `# a manifest addon: applied in order, its Deployment waited for
apiVersion: v1
kind: ConfigMap
metadata: {name: greeting}
data: {index.html: "hello from a manifest addon"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: greeter}
spec:
  selector: {matchLabels: {app: greeter}}
  template:
    metadata: {labels: {app: greeter}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
      containers:
      - name: web
        image: docker.io/local-cluster/toolbox:1
        imagePullPolicy: Never
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
        readinessProbe: {httpGet: {path: /, port: 8080}, initialDelaySeconds: 3, periodSeconds: 1}
        volumeMounts: [{name: page, mountPath: /www}]
      volumes: [{name: page, configMap: {name: greeting}}]
`,
);
const kubectl = kubectlFor(NAME);

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
  await clean({ driver, cluster: BAD }).catch(() => undefined);
});

describe('addons from packages and files', () => {
  const bad: [string, string, RegExp][] = [
    ['an unknown addon name', 'no-such-addon', /no-such-addon/],
    ['a manifest file that does not exist', './missing.yaml', /Addon \.\/missing\.yaml cannot be read: no such file/],
    ['a URL nothing answers (this machine, port 1)', 'http://127.0.0.1:1/addon.yaml', /Addon http:\/\/127\.0\.0\.1:1\/addon\.yaml cannot be fetched/],
    ['YAML that does not parse', './broken.yaml', /Addon \.\/broken\.yaml is not valid YAML \(line \d+/],
    ['a manifest naming an image nothing can provide', './unbuildable.yaml', /example\.invalid\/nothing:1 \(addon "\.\/unbuildable\.yaml"\)/],
  ];
  it.each(bad)('refuses %s before anything is made', async (_what, addon, message) => {
    writeFileSync(join(project, 'broken.yaml'), 'apiVersion: v1\nkind: [unclosed\n');
    writeFileSync(join(project, 'unbuildable.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: example.invalid/nothing:1}]}\n');
    writeFileSync(join(project, 'bad.yaml'), `cluster:\n  name: ${BAD}\n  numNodes: 0\n  addons: ["${addon}"]\ndind:\n  subnet: 10.207.0.0/16\n`);
    const r = await cli(['up'], { LOCAL_CLUSTER_CONF: join(project, 'bad.yaml') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/cluster\.addons|addon/);
    expect(await leftovers(BAD)).toEqual([]);
  });

  it('a third-party addon package and a manifest file come up with the cluster, their workloads ready when `up` returns', async () => {
    writeFileSync(join(project, 'config.yaml'), `cluster:\n  name: ${NAME}\n  numNodes: 0\n  addons: [local-cluster-addon-echo, ./greeter.yaml]\ndind:\n  subnet: ${SUBNET}\n`);
    const r = await cli(['up'], { LOCAL_CLUSTER_CONF: join(project, 'config.yaml') });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toContain('addon echo ready');
    expect(r.stderr).toContain('addon ./greeter.yaml ready');
    // ready right away: `up` waited for both
    expect((await kubectl('get', 'deployment', 'greeter', '-o', 'jsonpath={.status.readyReplicas}')).stdout).toBe('1');
    expect((await kubectl('-n', 'echo', 'get', 'deployment', 'echo', '-o', 'jsonpath={.status.readyReplicas}')).stdout).toBe('1');
    // from the manifest addon's pod (the toolbox image has wget) to the package addon's Service
    const page = await kubectl('exec', 'deploy/greeter', '--', 'wget', '-qO-', 'http://echo.echo.svc.cluster.local/');
    expect(page.stdout).toContain('echo from a third-party addon');
  });
});
