import { z } from 'zod';
import { ADDON_API_VERSION, type Addon } from '../contracts/addon.js';
import { CNI_API_VERSION, type CniPlugin } from '../contracts/cni.js';
import { capabilityName } from '../contracts/node.js';
import { parseCidr } from '../config/schema.js';
import { PluginError } from '../errors.js';

export type PluginKind = 'cni' | 'addon';
export type PluginOf<K extends PluginKind> = K extends 'cni' ? CniPlugin : Addon;

export const PLUGIN_API_VERSIONS = { cni: CNI_API_VERSION, addon: ADDON_API_VERSION } as const;

const hook = z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'must be a function');

const cniShape = z.object({
  apiVersion: z.literal(CNI_API_VERSION),
  kind: z.literal('cni'),
  name: z.string().min(1),
  defaultPodSubnet: z.string().refine((v) => parseCidr(v) !== undefined, 'must be an IPv4 CIDR'),
  supports: z
    .object({ multiNode: z.boolean().optional(), ipFamilies: z.array(z.enum(['ipv4', 'ipv6'])).optional(), networkPolicy: z.boolean().optional(), podNetwork: z.boolean().optional() })
    .optional(),
  nodeCapabilities: z
    .array(z.string().refine((v) => capabilityName(v) !== undefined, 'must be a capability name such as NET_ADMIN or CAP_BPF'))
    .optional(),
  images: hook.optional(),
  configure: hook.optional(),
  prepareNode: hook.optional(),
  install: hook.optional(),
  waitReady: hook.optional(),
});

const addonShape = z.object({
  apiVersion: z.literal(ADDON_API_VERSION),
  kind: z.literal('addon'),
  name: z.string().min(1),
  dependsOn: z.array(z.string()).optional(),
  images: hook.optional(),
  preflight: hook.optional(),
  attach: hook.optional(),
  install: hook,
  waitReady: hook.optional(),
});

/**
 * Checks that `value` is a plugin of `kind` this core supports. A wrong
 * apiVersion gets its own message, since it is the usual cause when a plugin
 * was written for another major version of core.
 */
export function validatePlugin<K extends PluginKind>(
  kind: K,
  value: unknown,
  context: { spec: string; setting?: string; from?: string },
): PluginOf<K> {
  const where = `${context.setting ? ` (${context.setting})` : ''}${context.from ? ` (loaded from ${context.from})` : ''}`;
  const expected = PLUGIN_API_VERSIONS[kind];
  const label = kind === 'cni' ? 'CNI plugin' : 'addon';
  if (typeof value !== 'object' || value === null) {
    throw new PluginError(`"${context.spec}"${where} is not a ${label}: its default export is ${value === null ? 'null' : typeof value}.`, {
      spec: context.spec,
      ...(context.setting ? { setting: context.setting } : {}),
      hint: `A ${label} module's default export is a plugin object or a factory returning one, with apiVersion "${expected}".`,
    });
  }
  const apiVersion = (value as { apiVersion?: unknown }).apiVersion;
  if (typeof apiVersion === 'string' && apiVersion !== expected) {
    throw new PluginError(
      `${label} "${context.spec}"${where} has apiVersion "${apiVersion}", which this version of @local-cluster/core does not support (it supports "${expected}").`,
      {
        spec: context.spec,
        ...(context.setting ? { setting: context.setting } : {}),
        hint: 'Install a version of the plugin built for this core, or a core that matches the plugin.',
      },
    );
  }
  const result = (kind === 'cni' ? cniShape : addonShape).safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ');
    throw new PluginError(`"${context.spec}"${where} is not a valid ${label}: ${problems}.`, {
      spec: context.spec,
      ...(context.setting ? { setting: context.setting } : {}),
      cause: result.error,
      hint: `See the ${kind === 'cni' ? 'CniPlugin' : 'Addon'} interface in @local-cluster/core.`,
    });
  }
  return value as PluginOf<K>;
}
