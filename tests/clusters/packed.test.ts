import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clean } from '@local-cluster/core';
import { driver, leftovers, ROOT, run, toolHome } from './helpers.js';

// What a user of the published packages gets: every workspace package the `local-cluster`
// package needs is packed (`npm pack`, not workspace links) and installed into a fresh project
// from the tarballs (their own dependencies from the machine's npm registry); `npx local-cluster
// --help` works there, and a vitest file of that project gets a real cluster from createCluster
// and leaves nothing behind, also when its test throws.
const NAME = `packed-${process.pid}`;
const SUBNET = '10.214.0.0/16';
const dir = mkdtempSync(join(tmpdir(), 'lc-packed-'));
const tarballs = join(dir, 'tgz');
const project = join(dir, 'project');

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

/** Workspace packages by name (packages/*, images). */
function workspacePackages(): Map<string, { dir: string; deps: string[] }> {
  const out = new Map<string, { dir: string; deps: string[] }>();
  const dirs = [...readdirSync(join(ROOT, 'packages')).map((d) => join(ROOT, 'packages', d)), join(ROOT, 'images')];
  for (const d of dirs) {
    const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
    out.set(pkg.name, { dir: d, deps: Object.keys(pkg.dependencies ?? {}) });
  }
  return out;
}

describe('the packed packages in a fresh project', () => {
  it('install from their tarballs; `npx local-cluster --help` works', async () => {
    // local-cluster and every workspace package it needs, transitively
    const all = workspacePackages();
    const needed = new Set<string>();
    const visit = (name: string) => {
      if (needed.has(name) || !all.has(name)) return;
      needed.add(name);
      for (const d of all.get(name)!.deps) visit(d);
    };
    visit('local-cluster');
    expect(needed.size).toBeGreaterThanOrEqual(8);
    mkdirSync(tarballs);
    const dependencies: Record<string, string> = {};
    for (const name of needed) {
      const file = execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs], { cwd: all.get(name)!.dir, encoding: 'utf8' }).trim().split('\n').pop()!;
      dependencies[name] = `file:${join(tarballs, file)}`;
    }
    const vitest = (JSON.parse(readFileSync(join(ROOT, 'node_modules/vitest/package.json'), 'utf8')) as { version: string }).version;
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'packed-consumer', private: true, type: 'module', dependencies, devDependencies: { vitest } }, null, 2));
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { HOME: process.env.HOME ?? '/root' }, project);
    expect(install.code, install.stderr.slice(-2000)).toBe(0);
    // nothing resolved back into this checkout
    const core = JSON.parse(readFileSync(join(project, 'node_modules/@local-cluster/core/package.json'), 'utf8')) as { name: string };
    expect(core.name).toBe('@local-cluster/core');
    const help = await run('npx', ['--no-install', 'local-cluster', '--help'], {}, project);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/USAGE.*local-cluster up\|down\|clean/s);
  });

  it("the project's own vitest file gets a cluster from createCluster and leaves nothing behind, also when the test throws", async () => {
    writeFileSync(
      join(project, 'cluster.test.ts'),
      `import { expect, test } from 'vitest';
import { createCluster } from 'local-cluster';
import { dockerDriver } from '@local-cluster/docker-driver';

const options = { cluster: { name: ${JSON.stringify(NAME)}, numNodes: 0, addons: [] }, dind: { subnet: ${JSON.stringify(SUBNET)} }, home: ${JSON.stringify(toolHome)} };
const count = async () => (await dockerDriver().listNodes({ cluster: options.cluster.name })).length;

test('a Ready node, then nothing left', async () => {
  {
    await using cluster = await createCluster(options);
    expect(await cluster.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}'])).toBe('kube-master');
    expect(await count()).toBe(1);
  }
  expect(await count()).toBe(0);
}, 600_000);

test('a throwing test still removes its cluster', async () => {
  await expect((async () => {
    await using cluster = await createCluster(options);
    await cluster.kubectl(['get', 'nodes']);
    throw new Error('boom');
  })()).rejects.toThrow('boom');
  expect(await count()).toBe(0);
}, 600_000);
`,
    );
    const r = await run(join(project, 'node_modules/.bin/vitest'), ['run', '--no-color'], {}, project);
    expect(r.code, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(/Tests\s+2 passed/);
    expect(await leftovers(NAME)).toEqual([]);
  });

  it('a harness of that project interrupted (SIGINT) while its cluster is up leaves nothing behind', async () => {
    writeFileSync(
      join(project, 'harness.mjs'),
      `import { createCluster } from 'local-cluster';
const cluster = await createCluster({ cluster: { name: ${JSON.stringify(NAME)}, numNodes: 0, addons: [] }, dind: { subnet: ${JSON.stringify(SUBNET)} }, home: ${JSON.stringify(toolHome)} });
console.log('READY ' + cluster.name);
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['harness.mjs'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('READY') && resolve());
      child.once('close', (code) => reject(new Error(`harness exited ${code}: ${err.slice(-2000)}`)));
    });
    expect(await leftovers(NAME)).not.toEqual([]);
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
    child.kill('SIGINT');
    expect(await exit).toBe('SIGINT');
    expect(await leftovers(NAME)).toEqual([]);
  });
});
