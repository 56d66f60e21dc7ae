/**
 * Helpers for third-party plugin authors: check a plugin against the contract
 * the way core will when it loads it, and the hooks that must not throw.
 */
import { configSchema } from '../config/schema.js';
import { parseCidr } from '../config/schema.js';
import type { CniPlugin } from '../contracts/cni.js';
import type { Addon } from '../contracts/addon.js';
import { validatePlugin } from '../plugins/validate.js';
import { loadPlugin } from '../plugins/resolve.js';

export { fakeDriver, type FakeContainer, type FakeDriver, type FakeDriverOptions, type FakeExec } from './fake-driver.js';

/** Validates a CNI plugin object and its pure hooks; returns the problems found (empty: conformant). */
export function checkCniPlugin(value: unknown): string[] {
  const problems: string[] = [];
  let plugin: CniPlugin;
  try {
    plugin = validatePlugin('cni', value, { spec: (value as { name?: string })?.name ?? '(object)' });
  } catch (e) {
    return [(e as Error).message];
  }
  const config = configSchema.parse({ cluster: { cniPlugin: plugin.name } });
  try {
    const patches = plugin.configure?.(config);
    if (patches?.podSubnet !== undefined && !parseCidr(patches.podSubnet)) {
      problems.push(`configure() returned podSubnet "${patches.podSubnet}", which is not an IPv4 CIDR`);
    }
  } catch (e) {
    problems.push(`configure() threw: ${(e as Error).message}`);
  }
  try {
    const images = plugin.images?.(config) ?? [];
    for (const image of images) {
      const [name = '', digest] = image.ref.split('@');
      const lastSegment = name.split('/').pop() ?? '';
      const tagged = /^[\w.-]+:[\w.-]+$/.test(lastSegment) || (digest !== undefined && /^sha256:[0-9a-f]{64}$/.test(digest));
      if (!tagged || !/^[\w.-]+(:\d+)?(\/[\w.-]+)*(:[\w.-]+)?$/.test(name)) {
        problems.push(`images() returned "${image.ref}": name every image with an explicit tag`);
      }
    }
  } catch (e) {
    problems.push(`images() threw: ${(e as Error).message}`);
  }
  return problems;
}

/** Validates an addon object; returns the problems found (empty: conformant). */
export function checkAddon(value: unknown): string[] {
  try {
    const addon: Addon = validatePlugin('addon', value, { spec: (value as { name?: string })?.name ?? '(object)' });
    return addon.dependsOn?.includes(addon.name) ? [`addon "${addon.name}" depends on itself`] : [];
  } catch (e) {
    return [(e as Error).message];
  }
}

/** The parts of a test framework (vitest, node:test, Deno's BDD) the suite needs. */
export interface TestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => unknown): void;
  expect: (value: unknown) => { toEqual(expected: unknown): void; toBe(expected: unknown): void };
}

/**
 * The CniPlugin contract checks as a test suite for CNI plugin packages, so each package's test
 * is a few lines: `testCniPlugin({ factory, packageName }, { describe, it, expect })`.
 */
export function testCniPlugin(
  subject: { factory: (options?: { podSubnet?: string }) => CniPlugin; packageName: string },
  { describe, it, expect }: TestApi,
): void {
  const name = subject.factory().name;
  describe(`${name} CNI plugin`, () => {
    it('conforms to the CniPlugin contract', () => {
      expect(checkCniPlugin(subject.factory())).toEqual([]);
    });
    it('passes a configured pod subnet to kubeadm', () => {
      const config = configSchema.parse({});
      expect(subject.factory({ podSubnet: '10.123.0.0/16' }).configure?.(config)?.podSubnet).toBe('10.123.0.0/16');
    });
    it('loads by package name, as the config names it', async () => {
      const loaded = await loadPlugin(subject.packageName, 'cni', { baseDir: process.cwd() });
      expect(loaded.name).toBe(name);
    });
  });
}
