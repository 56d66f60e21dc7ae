import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let home: string;

/** Runs the built CLI as a user would, with a clean environment and a fresh HOME. */
function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LOCAL_CLUSTER_') && k !== 'KUBECONFIG'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...base, HOME: home, NO_COLOR: '1', ...env }, cwd: cwd ?? home, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

function configFile(text: string, name = 'config.yaml'): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lc-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return { dir, file };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'lc-cli-home-'));
});

describe('help and version', () => {
  it('--help lists every command of the proposal', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['up', 'down', 'clean', 'reup', 'e2e', 'e2e-serial', 'e2e-node', 'list', 'images', 'config', 'load', 'kubeconfig']) expect(r.stdout).toContain(cmd);
  });

  it('up --help shows one flag per setting with its env var and default', async () => {
    const r = await cli(['up', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--num-nodes');
    expect(r.stdout).toContain('LOCAL_CLUSTER_NUM_NODES');
    expect(r.stdout).toContain('--dind-subnet');
    expect(r.stdout).toContain('default: 10.192.0.0/16');
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('an unknown command is an error with usage', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Unknown command "frobnicate"');
  });
});

describe('config convert', () => {
  const kindFixture = (name: string) => fileURLToPath(new URL(`../../core/test/fixtures/kind/${name}`, import.meta.url));

  it("prints the config equivalent to a kind config, which `config view` then reads as the kind file does", async () => {
    const r = await cli(['config', 'convert', kindFixture('kubeadm-patches.yaml')]);
    // nothing but Node's own warnings (NO_COLOR beside FORCE_COLOR, as under nx)
    expect(r.stderr.replace(/^\(node:\d+\) Warning: .*\n(\(Use `node --trace-warnings.*\n)?/gm, '')).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# local-cluster config equivalent to the kind config');
    expect(r.stdout).toContain('enable-admission-plugins: NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook');
    expect(r.stdout).toContain('my-label: \'true\'');
    const { file } = configFile(r.stdout);
    const converted = JSON.parse((await cli(['config', 'view', '--json'], { LOCAL_CLUSTER_CONF: file })).stdout);
    const direct = JSON.parse((await cli(['config', 'view', '--json'], { LOCAL_CLUSTER_CONF: kindFixture('kubeadm-patches.yaml') })).stdout);
    expect(converted.config).toEqual(direct.config);
    expect(direct.config.cluster.componentArgs.apiServer).toEqual({ 'enable-admission-plugins': 'NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook' });
  });

  it('refuses a kind field without an equivalent, naming it, and a file that is not a kind config', async () => {
    const r = await cli(['config', 'convert', kindFixture('unsupported-field.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('field nodes[1].replicas is not part of kind\'s kind.x-k8s.io/v1alpha4 Cluster config');
    const { file } = configFile('cluster:\n  numNodes: 1\n');
    const ours = await cli(['config', 'convert', file]);
    expect(ours.code).not.toBe(0);
    expect(ours.stderr).toContain('is not a kind cluster config');
  });
});

describe('config view', () => {
  it('shows each value and where it came from: flag > env > file > default', async () => {
    const { file } = configFile('cluster:\n  numNodes: 4\n  cniPlugin: flannel\ndind:\n  subnet: 10.50.0.0/16\n');
    const r = await cli(['config', 'view', '--json', '--num-nodes', '5'], { LOCAL_CLUSTER_CONF: file, LOCAL_CLUSTER_DIND_SUBNET: '10.60.0.0/16' });
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.file).toBe(file);
    expect(view.config.cluster.numNodes).toBe(5);
    expect(view.sources['cluster.numNodes']).toEqual({ kind: 'flag', name: 'num-nodes' });
    expect(view.config.dind.subnet).toBe('10.60.0.0/16');
    expect(view.sources['dind.subnet']).toEqual({ kind: 'env', name: 'LOCAL_CLUSTER_DIND_SUBNET' });
    expect(view.config.cluster.cniPlugin).toBe('flannel');
    expect(view.sources['cluster.cniPlugin']).toEqual({ kind: 'file', path: file });
    expect(view.sources['cluster.name']).toEqual({ kind: 'default' });
  });

  it('reads ~/.local-cluster/config.yaml when LOCAL_CLUSTER_CONF is unset', async () => {
    const fakeHome = mkdtempSync(join(tmpdir(), 'lc-cli-home2-'));
    mkdirSync(join(fakeHome, '.local-cluster'));
    writeFileSync(join(fakeHome, '.local-cluster', 'config.yaml'), 'cluster:\n  name: from-home\n');
    const r = await cli(['config', 'view'], { HOME: fakeHome });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster\.name\s+from-home\s+file .*config\.yaml/);
  });

  it('prints the JSON Schema for editors', async () => {
    const r = await cli(['config', 'schema']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).properties.cluster.properties.numNodes.type).toBe('integer');
  });
});

describe('bad input gets a clear error and a non-zero exit', () => {
  const cases: { name: string; args?: string[]; env?: Record<string, string>; file?: string; expect: (string | RegExp)[] }[] = [
    {
      name: 'malformed YAML names file, line and column',
      file: 'cluster:\n  numNodes: 2\n   cniPlugin: bridge\n',
      expect: [/Malformed YAML in config file .*config\.yaml:3:\d+/],
    },
    { name: 'an unknown key suggests the right one', file: 'cluster:\n  numNode: 3\n', expect: ['Unknown setting "cluster.numNode"', 'Did you mean "cluster.numNodes"?'] },
    { name: 'a wrong type names setting and file', file: 'cluster:\n  numNodes: two\n', expect: ['cluster.numNodes', 'expected number', /from file .*config\.yaml/] },
    { name: 'an invalid CIDR from a flag', args: ['--dind-subnet', '10.1.2.3'], expect: ['dind.subnet', 'flag --dind-subnet', 'not an IPv4 CIDR'] },
    { name: 'a CIDR with host bits from env', env: { LOCAL_CLUSTER_DIND_SUBNET: '10.192.5.0/16' }, expect: ['dind.subnet', 'LOCAL_CLUSTER_DIND_SUBNET', 'host bits'] },
    { name: 'a negative node count', args: ['--num-nodes', '-1'], expect: ['cluster.numNodes', 'flag --num-nodes', '>=0'] },
    { name: 'a non-integer node count', env: { LOCAL_CLUSTER_NUM_NODES: '1.5' }, expect: ['cluster.numNodes', 'LOCAL_CLUSTER_NUM_NODES', 'integer'] },
    {
      name: 'a checksum of the wrong length',
      file: 'source:\n  kubeadmUrl: https://example.invalid/kubeadm\n  kubeadmSha1: abc123\n',
      expect: ['source.kubeadmSha1', 'SHA-1 (40 hex digits) or SHA-256 (64 hex digits)'],
    },
    { name: 'an unknown flag suggests the right one', args: ['--num-node', '3'], expect: ['Unknown flag --num-node', 'Did you mean --num-nodes?'] },
    { name: 'a removed flag names what replaces it', args: ['--quick'], expect: ['--quick is gone', 'run `local-cluster check`'] },
    { name: 'a config file that does not exist', env: { LOCAL_CLUSTER_CONF: '/nonexistent/lc.yaml' }, expect: ['/nonexistent/lc.yaml', 'LOCAL_CLUSTER_CONF'] },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const env = { ...c.env };
      if (c.file) env.LOCAL_CLUSTER_CONF = configFile(c.file).file;
      const r = await cli(['config', 'view', ...(c.args ?? [])], env);
      expect(r.code).toBe(1);
      for (const e of c.expect) expect(r.stderr).toMatch(typeof e === 'string' ? new RegExp(e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : e);
      expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace without --verbose
    });
  }

  it('a stack trace only with --verbose', async () => {
    const r = await cli(['config', 'view', '--num-nodes', '-1', '--verbose']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\s+at /m);
  });
});

describe('plugins named in the config', () => {
  function project(files: Record<string, string>, cni: string, name: string): string {
    const { dir, file } = configFile(`cluster:\n  name: ${name}\n  cniPlugin: ${JSON.stringify(cni)}\n`);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return file;
  }

  const cases: { name: string; cni: string; files?: Record<string, string>; expect: string[] }[] = [
    { name: 'an unknown CNI name', cni: 'nosuchcni', expect: ['"nosuchcni"', 'not a built-in name', 'bridge, flannel, calico, weave'] },
    { name: 'a missing plugin package', cni: '@acme/missing-cni', expect: ['@acme/missing-cni', 'npm install @acme/missing-cni'] },
    { name: 'a missing ./path', cni: './plugins/nope.js', expect: ['does not exist', 'relative to the config file'] },
    {
      name: 'a plugin of the wrong shape',
      cni: './plugins/bad.js',
      files: { 'plugins/bad.js': "export default { apiVersion: 'local-cluster.dev/cni/v1', kind: 'cni', name: 'bad' };\n" },
      expect: ['is not a valid CNI plugin', 'defaultPodSubnet'],
    },
    {
      name: 'an unsupported apiVersion',
      cni: './plugins/old.js',
      files: { 'plugins/old.js': "export default () => ({ apiVersion: 'local-cluster.dev/cni/v0', kind: 'cni', name: 'old', defaultPodSubnet: '10.1.0.0/16' });\n" },
      expect: ['apiVersion "local-cluster.dev/cni/v0"', 'supports "local-cluster.dev/cni/v1"'],
    },
  ];

  for (const c of cases) {
    it(`${c.name} stops up before anything is created`, async () => {
      const name = `cli-bad-${Math.random().toString(36).slice(2, 8)}`;
      const r = await cli(['up'], { LOCAL_CLUSTER_CONF: project(c.files ?? {}, c.cni, name) });
      expect(r.code).toBe(1);
      for (const e of c.expect) expect(r.stderr).toContain(e);
      expect(r.stderr).toContain('cluster.cniPlugin');
      // nothing of that cluster exists on the engine
      const after = await cli(['list', '--json']);
      expect(after.code).toBe(0);
      expect((JSON.parse(after.stdout) as { name: string }[]).map((c) => c.name)).not.toContain(name);
    });
  }
});

describe('the container engine', () => {
  it('an unreachable engine says where and how to fix it', async () => {
    const r = await cli(['list'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not reachable at unix:///nonexistent/docker.sock (from DOCKER_HOST): no such socket. Start it or fix or unset DOCKER_HOST; nothing was changed.');
  });

  it('load image / load archive / kubeconfig / e2e name what is missing and change nothing', async () => {
    const noImage = await cli(['load', 'image', 'local-cluster-test/no-such-image:1', '--name', 'nosuch']);
    expect(noImage.code).toBe(1);
    expect(noImage.stderr).toContain('The engine has no image local-cluster-test/no-such-image:1: nothing was loaded.');
    const noFile = await cli(['load', 'archive', join(home, 'missing.tar'), '--name', 'nosuch']);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain(`Image archive ${join(home, 'missing.tar')} does not exist`);
    const noCluster = await cli(['kubeconfig', '--name', 'nosuch']);
    expect(noCluster.code).toBe(1);
    expect(noCluster.stderr).toContain('Cluster "nosuch" has no kubeconfig');
    expect(noCluster.stderr).toContain('local-cluster up --name nosuch');
    const e2e = await cli(['e2e', '--name', 'nosuch']);
    expect(e2e.code).toBe(1);
    expect(e2e.stderr).toContain('Cluster "nosuch" is not up.');
    const e2eNode = await cli(['e2e-node', '--name', 'nosuch']);
    expect(e2eNode.code).toBe(1);
    expect(e2eNode.stderr).toContain('Cluster "nosuch" is not up.');
    expect(e2eNode.stderr).toContain('local-cluster up --name nosuch');
  });

  it('e2e-node names a bad flag value or an unknown flag before touching anything', async () => {
    const timeout = await cli(['e2e-node', '--name', 'nosuch', '--timeout', '5m']);
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain('--timeout 5m is not a number of minutes from 1 to 1440.');
    const unknown = await cli(['e2e-node', '--name', 'nosuch', '--prepull-images']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown flag --prepull-images.');
    const parallel = await cli(['e2e-node', '--name', 'nosuch', '--e2e-parallel', 'many']);
    expect(parallel.code).toBe(1);
    expect(parallel.stderr).toContain('e2e-parallel');
    const help = await cli(['e2e-node', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('NodeConformance && !Serial && !Flaky && !Slow');
    expect(help.stdout).toContain('--no-default-skips');
  });

  it('list talks to the real engine', async () => {
    const r = await cli(['list', '--json']);
    expect(r.code).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });
});

describe('plugins from outside the workspace', () => {
  it('a plugin package that imports @local-cluster/core at run time, installed alone, loads by its npm name', async () => {
    // a project whose node_modules holds only the plugin: core comes from the CLI
    const project = mkdtempSync(join(tmpdir(), 'lc-cli-project-'));
    const pkg = join(project, 'node_modules', 'acme-cni');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'acme-cni', type: 'module', exports: './index.js' }));
    writeFileSync(
      join(pkg, 'index.js'),
      "import { CNI_API_VERSION } from '@local-cluster/core';\n" +
        "export default () => ({ apiVersion: CNI_API_VERSION, kind: 'cni', name: 'acme', defaultPodSubnet: '10.250.0.0/16',\n" +
        "  images: () => [{ ref: 'docker.io/acme/agent:v1', recipe: { shell: true, entrypoint: ['/bin/sh'] } }] });\n",
    );
    writeFileSync(join(project, 'config.yaml'), 'cluster:\n  cniPlugin: acme-cni\n');
    const r = await cli(['images', '--json'], { LOCAL_CLUSTER_CONF: join(project, 'config.yaml') });
    expect(r.code, r.stderr).toBe(0);
    const images = JSON.parse(r.stdout) as { ref: string; neededBy: string; build: string }[];
    expect(images.find((i) => i.ref === 'docker.io/acme/agent:v1')).toMatchObject({ neededBy: 'CNI plugin "acme"', build: 'recipe' });
  });
});

describe('docs', () => {
  it("docs/user/configuration.md's config table is the one the schema generates", async () => {
    const { configTableMarkdown } = await import('../src/config-table.js');
    const { readFileSync } = await import('node:fs');
    const page = readFileSync(fileURLToPath(new URL('../../../docs/user/configuration.md', import.meta.url)), 'utf8');
    expect(page).toContain(configTableMarkdown());
  });

  it("docs/user/commands.md's command reference is the one the CLI's commands generate", async () => {
    const { commandReferenceMarkdown } = await import('../src/command-reference.js');
    const { readFileSync } = await import('node:fs');
    const page = readFileSync(fileURLToPath(new URL('../../../docs/user/commands.md', import.meta.url)), 'utf8');
    const section = /<!-- commands:start -->\n([\s\S]*?)<!-- commands:end -->/.exec(page)?.[1];
    expect(section, 'docs/user/commands.md has no <!-- commands:start --> ... <!-- commands:end --> section').toBeDefined();
    const reference = await commandReferenceMarkdown();
    expect(section!.trim()).toBe(reference.trim());
    // every command of the CLI has its section
    expect(reference).toContain('### `local-cluster up`');
    expect(reference).toContain('#### `local-cluster load image`');
  });
});

describe('npx local-cluster from the checkout', () => {
  it('the workspace links the bin, which runs the CLI', async () => {
    const bin = fileURLToPath(new URL('../../../node_modules/.bin/local-cluster', import.meta.url));
    const r = await new Promise<Run>((resolve) =>
      execFile(bin, ['--version'], { env: { ...process.env, PATH: `${fileURLToPath(new URL('../../../node_modules/.bin', import.meta.url))}:${process.env.PATH}` } }, (error, stdout, stderr) =>
        resolve({ code: error ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
