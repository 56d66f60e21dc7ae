import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADDON_API_VERSION } from '../../src/contracts/addon.js';
import { CNI_API_VERSION, type CniPlugin } from '../../src/contracts/cni.js';
import { isLocalClusterError, isPluginError, PluginError } from '../../src/errors.js';
import { loadPlugin, resolvePluginUrl } from '../../src/plugins/resolve.js';
import { validatePlugin } from '../../src/plugins/validate.js';
import { capabilityName } from '../../src/contracts/node.js';
import { rejectionOf, tempDir, thrownBy, writeTree } from '../helpers.js';

const esmPackage = (name: string, exportsMap: unknown = { '.': { import: './index.js' } }) =>
  JSON.stringify({ name, version: '1.0.0', type: 'module', exports: exportsMap });

/** A CNI module source whose default export is `body` (an expression). */
const cniModule = (body: string) => `export default ${body};\n`;

const acmeFactory = `function createAcme(options) {
  return {
    apiVersion: '${CNI_API_VERSION}',
    kind: 'cni',
    name: 'acme',
    defaultPodSubnet: '10.99.0.0/16',
    factoryOptions: options,
    configure() {
      return { podSubnet: options?.podSubnet ?? '10.99.0.0/16' };
    },
  };
}`;

const plainCni = (name: string, extra = '') =>
  `{ apiVersion: '${CNI_API_VERSION}', kind: 'cni', name: '${name}', defaultPodSubnet: '10.98.0.0/16'${extra} }`;

/** A project outside the workspace, as a user would have next to their config.yaml. */
let project: string;

beforeAll(() => {
  project = tempDir('local-cluster-plugins-');
  writeTree(project, {
    'config.yaml': 'cluster:\n  cniPlugin: acme-cni\n',
    'node_modules/acme-cni/package.json': esmPackage('acme-cni', { '.': { types: './index.d.ts', import: './index.js' } }),
    'node_modules/acme-cni/index.js': cniModule(acmeFactory),
    'node_modules/@acme/scoped-cni/package.json': esmPackage('@acme/scoped-cni', './main.js'),
    'node_modules/@acme/scoped-cni/main.js': cniModule(plainCni('scoped')),
    'node_modules/acme-addon/package.json': esmPackage('acme-addon'),
    'node_modules/acme-addon/index.js': `export default {
      apiVersion: '${ADDON_API_VERSION}', kind: 'addon', name: 'acme-addon', dependsOn: ['dashboard'],
      async install() {},
    };\n`,
    'node_modules/named-export-cni/package.json': esmPackage('named-export-cni'),
    'node_modules/named-export-cni/index.js': `export const plugin = ${plainCni('named')};\n`,
    'node_modules/no-subnet-cni/package.json': esmPackage('no-subnet-cni'),
    'node_modules/no-subnet-cni/index.js': cniModule(`{ apiVersion: '${CNI_API_VERSION}', kind: 'cni', name: 'no-subnet' }`),
    'node_modules/bad-install-cni/package.json': esmPackage('bad-install-cni'),
    'node_modules/bad-install-cni/index.js': cniModule(plainCni('bad-install', ", install: 'kubectl apply'")),
    'node_modules/old-cni/package.json': esmPackage('old-cni'),
    'node_modules/old-cni/index.js': cniModule(
      `{ apiVersion: 'local-cluster.dev/cni/v0', kind: 'cni', name: 'old', defaultPodSubnet: '10.98.0.0/16' }`,
    ),
    'node_modules/string-export/package.json': esmPackage('string-export'),
    'node_modules/string-export/index.js': cniModule(`'not a plugin'`),
    'node_modules/throws-on-import/package.json': esmPackage('throws-on-import'),
    'node_modules/throws-on-import/index.js': `throw new Error('boom while importing');\n`,
    'node_modules/subpath-only/package.json': esmPackage('subpath-only', { './extra': './extra.js' }),
    'node_modules/subpath-only/extra.js': cniModule(plainCni('extra')),
    'plugins/my-cni.js': cniModule(plainCni('my-cni')),
    'plugins/dir-cni/package.json': esmPackage('dir-cni', { '.': { import: './lib/main.js' } }),
    'plugins/dir-cni/lib/main.js': cniModule(plainCni('dir-cni')),
    'plugins/main-cni/package.json': JSON.stringify({ name: 'main-cni', type: 'module', main: 'entry.js' }),
    'plugins/main-cni/entry.js': cniModule(plainCni('main-cni')),
    'plugins/bare-dir/index.js': cniModule(plainCni('bare-dir')),
    'plugins/async-factory.js': cniModule(`async (options) => (${plainCni('async', ', options')})`),
  });
});

async function pluginErrorFrom(p: Promise<unknown>): Promise<PluginError> {
  const error = await rejectionOf(p);
  expect(isPluginError(error), `expected a PluginError, got ${String(error)}`).toBe(true);
  return error as PluginError;
}

describe('loadPlugin by package name', () => {
  it('imports an npm package from baseDir and calls its factory with the options', async () => {
    const options = { podSubnet: '10.97.0.0/16' };
    const plugin = (await loadPlugin('acme-cni', 'cni', { baseDir: project, options })) as CniPlugin & {
      factoryOptions: unknown;
    };
    expect(plugin.apiVersion).toBe('local-cluster.dev/cni/v1');
    expect(plugin.kind).toBe('cni');
    expect(plugin.name).toBe('acme');
    expect(plugin.defaultPodSubnet).toBe('10.99.0.0/16');
    expect(plugin.factoryOptions).toBe(options);
    expect(plugin.configure?.({} as never)).toEqual({ podSubnet: '10.97.0.0/16' });
  });

  it('calls the factory with undefined when no options are given', async () => {
    const plugin = (await loadPlugin('acme-cni', 'cni', { baseDir: project })) as CniPlugin & { factoryOptions: unknown };
    expect(plugin.factoryOptions).toBeUndefined();
    expect(plugin.configure?.({} as never)).toEqual({ podSubnet: '10.99.0.0/16' });
  });

  it('resolves the package through its exports map to a file URL inside baseDir', () => {
    expect(resolvePluginUrl('acme-cni', 'cni', { baseDir: project })).toBe(
      pathToFileURL(join(project, 'node_modules/acme-cni/index.js')).href,
    );
  });

  it('loads a scoped package with a string exports field', async () => {
    expect((await loadPlugin('@acme/scoped-cni', 'cni', { baseDir: project })).name).toBe('scoped');
  });

  it('falls back to a named export called plugin', async () => {
    expect((await loadPlugin('named-export-cni', 'cni', { baseDir: project })).name).toBe('named');
  });

  it('awaits an async factory', async () => {
    const plugin = await loadPlugin('./plugins/async-factory.js', 'cni', { baseDir: project, options: { x: 1 } });
    expect(plugin.name).toBe('async');
    expect((plugin as unknown as { options: unknown }).options).toEqual({ x: 1 });
  });

  it('loads an addon', async () => {
    const addon = await loadPlugin('acme-addon', 'addon', { baseDir: project });
    expect(addon.kind).toBe('addon');
    expect(addon.name).toBe('acme-addon');
    expect(addon.dependsOn).toEqual(['dashboard']);
    expect(typeof addon.install).toBe('function');
  });
});

describe('loadPlugin by path', () => {
  it('resolves ./plugins/my-cni.js relative to baseDir, not the process cwd', async () => {
    expect(resolvePluginUrl('./plugins/my-cni.js', 'cni', { baseDir: project })).toBe(
      pathToFileURL(join(project, 'plugins/my-cni.js')).href,
    );
    expect((await loadPlugin('./plugins/my-cni.js', 'cni', { baseDir: project })).name).toBe('my-cni');
  });

  it('resolves ../ paths and absolute paths', async () => {
    const nested = join(project, 'plugins', 'dir-cni');
    expect((await loadPlugin('../my-cni.js', 'cni', { baseDir: nested })).name).toBe('my-cni');
    expect((await loadPlugin(join(project, 'plugins/my-cni.js'), 'cni', { baseDir: tempDir() })).name).toBe('my-cni');
  });

  it('loads a directory through its package.json exports', async () => {
    expect((await loadPlugin('./plugins/dir-cni', 'cni', { baseDir: project })).name).toBe('dir-cni');
  });

  it('loads a directory through its package.json main', async () => {
    expect((await loadPlugin('./plugins/main-cni', 'cni', { baseDir: project })).name).toBe('main-cni');
  });

  it('loads index.js of a directory without package.json', async () => {
    expect((await loadPlugin('./plugins/bare-dir', 'cni', { baseDir: project })).name).toBe('bare-dir');
  });

  it('says which path does not exist', async () => {
    const error = await pluginErrorFrom(
      loadPlugin('./plugins/nope.js', 'cni', { baseDir: project, setting: 'cluster.cniPlugin' }),
    );
    expect(error.spec).toBe('./plugins/nope.js');
    expect(error.setting).toBe('cluster.cniPlugin');
    expect(error.message).toContain('(cluster.cniPlugin)');
    expect(error.message).toContain(`${join(project, 'plugins/nope.js')} does not exist`);
    expect(error.tried).toEqual([join(project, 'plugins/nope.js')]);
    expect(error.hint).toContain('relative to the config file');
  });
});

describe('built-in names', () => {
  it('maps a built-in name to its package', async () => {
    const plugin = await loadPlugin('bridge', 'cni', { baseDir: project, builtins: { bridge: 'acme-cni' } });
    expect(plugin.name).toBe('acme');
  });

  it('finds a built-in package through builtinsFrom when baseDir lacks it', async () => {
    const cli = tempDir('local-cluster-cli-');
    writeTree(cli, {
      'node_modules/acme-cni/package.json': esmPackage('acme-cni'),
      'node_modules/acme-cni/index.js': cniModule(plainCni('from-cli')),
    });
    const opts = {
      baseDir: tempDir('local-cluster-empty-'),
      builtins: { bridge: 'acme-cni' },
      builtinsFrom: [pathToFileURL(join(cli, 'bin.js')).href],
    };
    expect((await loadPlugin('bridge', 'cni', opts)).name).toBe('from-cli');
    // builtinsFrom is for built-ins only: the same package by its own name is not found there
    const error = await pluginErrorFrom(loadPlugin('acme-cni', 'cni', opts));
    expect(error.tried).toHaveLength(1);
  });

  it('says a built-in is not installed when its package is missing', async () => {
    const error = await pluginErrorFrom(
      loadPlugin('bridge', 'cni', { baseDir: project, builtins: { bridge: '@local-cluster/cni-missing' } }),
    );
    expect(error.message).toContain('Built-in CNI plugin "bridge"');
    expect(error.message).toContain('@local-cluster/cni-missing was not found');
    expect(error.hint).toContain('npm install @local-cluster/cni-missing');
    expect(error.tried[0]).toContain('@local-cluster/cni-missing');
  });
});

describe('plugin errors', () => {
  it('names a missing package, what was tried and how to install it', async () => {
    const error = await pluginErrorFrom(
      loadPlugin('missing-cni', 'cni', {
        baseDir: project,
        builtins: { bridge: 'acme-cni', flannel: 'acme-cni' },
        setting: 'cluster.cniPlugin',
      }),
    );
    expect(error).toBeInstanceOf(PluginError);
    expect(error.name).toBe('PluginError');
    expect(error.spec).toBe('missing-cni');
    expect(error.message).toContain('"missing-cni"');
    expect(error.message).toContain('(cluster.cniPlugin)');
    expect(error.message).toContain('(bridge, flannel)');
    expect(error.message).toContain(project);
    expect(error.tried.length).toBeGreaterThan(0);
    expect(error.tried[0]).toContain('missing-cni');
    expect(error.hint).toContain('npm install missing-cni');
    expect(error.describe()).toContain('npm install missing-cni');
    expect(isLocalClusterError(error)).toBe(true);
  });

  it('suggests npm install for a missing scoped package', async () => {
    const error = await pluginErrorFrom(loadPlugin('@acme/missing', 'addon', { baseDir: project }));
    expect(error.message).toContain('addon "@acme/missing"');
    expect(error.hint).toContain('npm install @acme/missing');
  });

  it('treats a package whose exports hide "." as not found', async () => {
    const error = await pluginErrorFrom(loadPlugin('subpath-only', 'cni', { baseDir: project }));
    expect(error.spec).toBe('subpath-only');
  });

  it('loads a subpath a package exports', async () => {
    expect((await loadPlugin('subpath-only/extra', 'cni', { baseDir: project })).name).toBe('extra');
  });

  it('wraps an import failure', async () => {
    const error = await pluginErrorFrom(loadPlugin('throws-on-import', 'cni', { baseDir: project }));
    expect(error.message).toContain('Could not load "throws-on-import"');
    expect(error.message).toContain('boom while importing');
    expect((error.cause as Error).message).toBe('boom while importing');
    expect(error.tried).toHaveLength(1);
  });

  it('rejects a CNI plugin without defaultPodSubnet', async () => {
    const error = await pluginErrorFrom(loadPlugin('no-subnet-cni', 'cni', { baseDir: project }));
    expect(error.message).toContain('is not a valid CNI plugin');
    expect(error.message).toContain('defaultPodSubnet');
    expect(error.message).toContain('(loaded from file://');
    expect(error.hint).toContain('CniPlugin');
  });

  it('rejects a CNI plugin whose install is not a function', async () => {
    const error = await pluginErrorFrom(loadPlugin('bad-install-cni', 'cni', { baseDir: project }));
    expect(error.message).toContain('install must be a function');
  });

  it('names both apiVersions when a plugin targets another core', async () => {
    const error = await pluginErrorFrom(loadPlugin('old-cni', 'cni', { baseDir: project }));
    expect(error.message).toContain('"local-cluster.dev/cni/v0"');
    expect(error.message).toContain('"local-cluster.dev/cni/v1"');
    expect(error.hint).toMatch(/version of the plugin/);
  });

  it('rejects a default export that is not an object', async () => {
    const error = await pluginErrorFrom(loadPlugin('string-export', 'cni', { baseDir: project }));
    expect(error.message).toContain('its default export is string');
  });

  it('rejects a CNI plugin loaded as an addon', async () => {
    const error = await pluginErrorFrom(loadPlugin('acme-cni', 'addon', { baseDir: project }));
    expect(error.message).toContain(CNI_API_VERSION);
    expect(error.message).toContain(ADDON_API_VERSION);
  });
});

describe('plugin objects', () => {
  const direct: CniPlugin = {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'inline',
    defaultPodSubnet: '10.96.0.0/16',
    supports: { multiNode: true, ipFamilies: ['ipv4'] },
  };

  it('returns a valid plugin object passed directly, as is', async () => {
    expect(await loadPlugin(direct, 'cni', { baseDir: '/does/not/matter' })).toBe(direct);
  });

  it('validates a plugin object passed directly', async () => {
    const bad = { ...direct, defaultPodSubnet: 'everything' } as unknown as CniPlugin;
    const error = await pluginErrorFrom(loadPlugin(bad, 'cni', { baseDir: project, setting: 'cluster.cniPlugin' }));
    expect(error.spec).toBe('inline');
    expect(error.setting).toBe('cluster.cniPlugin');
    expect(error.message).toContain('defaultPodSubnet must be an IPv4 CIDR');
  });

  it('validatePlugin reports every problem at once', () => {
    const error = thrownBy(() =>
      validatePlugin('addon', { apiVersion: ADDON_API_VERSION, kind: 'cni', name: '' }, { spec: 'x' }),
    ) as PluginError;
    expect(isPluginError(error)).toBe(true);
    expect(error.message).toContain('kind');
    expect(error.message).toContain('name');
    expect(error.message).toContain('install');
  });

  it('takes the node capabilities a CNI plugin asks for by name, with or without CAP_, and names one that is not', () => {
    expect(validatePlugin('cni', { ...direct, nodeCapabilities: ['BPF', 'cap_perfmon'] }, { spec: 'x' }).nodeCapabilities).toEqual(['BPF', 'cap_perfmon']);
    expect(capabilityName('cap_perfmon')).toBe('PERFMON');
    const error = thrownBy(() => validatePlugin('cni', { ...direct, nodeCapabilities: ['NET ADMIN'] }, { spec: 'x' })) as PluginError;
    expect(error.message).toContain('nodeCapabilities');
    expect(error.message).toContain('must be a capability name such as NET_ADMIN');
  });

  it('validatePlugin names null', () => {
    const error = thrownBy(() => validatePlugin('cni', null, { spec: 'x' })) as PluginError;
    expect(error.message).toContain('its default export is null');
  });
});

describe('broken plugin packages', () => {
  // BUG (src/plugins/resolve.ts, resolveFrom): errors other than ERR_MODULE_NOT_FOUND and
  // ERR_PACKAGE_PATH_NOT_EXPORTED (here ERR_INVALID_PACKAGE_CONFIG) escape as plain Errors.
  it('reports an installed package with a malformed package.json as a PluginError', async () => {
    const dir = tempDir('local-cluster-broken-');
    writeTree(dir, {
      'node_modules/broken-cni/package.json': '{ not json',
      'node_modules/broken-cni/index.js': cniModule(plainCni('broken')),
    });
    const error = await pluginErrorFrom(loadPlugin('broken-cni', 'cni', { baseDir: dir }));
    expect(error.spec).toBe('broken-cni');
    expect(error.message).toContain(join(dir, 'node_modules/broken-cni/package.json'));
  });

  // BUG (src/plugins/resolve.ts, packageDirEntry): JSON.parse's SyntaxError escapes unwrapped.
  it('reports a plugin directory with a malformed package.json as a PluginError', async () => {
    const dir = tempDir('local-cluster-broken-');
    writeTree(dir, { 'plugins/broken/package.json': '{ not json', 'plugins/broken/index.js': cniModule(plainCni('b')) });
    const error = await pluginErrorFrom(loadPlugin('./plugins/broken', 'cni', { baseDir: dir }));
    expect(error.spec).toBe('./plugins/broken');
    expect(error.message).toContain(join(dir, 'plugins/broken/package.json'));
  });
});
