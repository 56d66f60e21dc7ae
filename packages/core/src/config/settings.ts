import type { z } from 'zod';
import { configSchema, getSettingMeta, type SettingMeta } from './schema.js';

/** `map`: KEY=VALUE pairs on the command line; `structured`: objects and lists of objects, config file only. */
export type SettingType = 'integer' | 'boolean' | 'string' | 'enum' | 'list' | 'map' | 'structured';

/** One leaf of the config schema with everything derived from it. */
export interface Setting extends SettingMeta {
  /** Dotted path, e.g. `cluster.numNodes`. */
  path: string;
  keys: string[];
  /** Environment variable name, derived from the flag; undefined for file-only settings. */
  env?: string;
  type: SettingType;
  /** Allowed values of an enum setting. */
  choices?: string[];
  /** The default value, undefined when unset by default. */
  defaultValue: unknown;
  schema: z.ZodType;
}

export const ENV_PREFIX = 'LOCAL_CLUSTER_';

export function envNameForFlag(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  entries?: Record<string, string>;
  element?: z.ZodType;
}

const defOf = (s: z.ZodType) => (s as unknown as { def: Def }).def;

function unwrap(schema: z.ZodType): { base: z.ZodType; defaultValue: unknown } {
  let current = schema;
  let defaultValue: unknown;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'default') {
      defaultValue = def.defaultValue;
    } else if (def.type !== 'optional' && def.type !== 'prefault') {
      return { base: current, defaultValue };
    }
    current = def.innerType!;
  }
}

function typeOf(base: z.ZodType): SettingType {
  const t = defOf(base).type;
  switch (t) {
    case 'number':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'enum':
      return 'enum';
    case 'array':
      return defOf(unwrap(defOf(base).element!).base).type === 'string' ? 'list' : 'structured';
    case 'record':
      return 'map';
    case 'object':
      return 'structured';
    default:
      throw new Error(`config schema: unsupported setting type ${t}`);
  }
}

function walk(schema: z.ZodType, keys: string[], out: Setting[]): void {
  const meta = getSettingMeta(schema);
  const { base, defaultValue } = unwrap(schema);
  if (meta) {
    const type = typeOf(base);
    const setting: Setting = {
      ...meta,
      path: keys.join('.'),
      keys,
      ...(meta.flag ? { env: envNameForFlag(meta.flag) } : {}),
      type,
      defaultValue: Array.isArray(defaultValue) ? [...defaultValue] : defaultValue,
      schema,
    };
    if (type === 'structured' && meta.flag) throw new Error(`config schema: ${setting.path} is structured and cannot have a flag`);
    if (type === 'enum') setting.choices = Object.values(defOf(base).entries ?? {});
    out.push(setting);
    return;
  }
  const shape = defOf(base).shape;
  if (!shape) throw new Error(`config schema: ${keys.join('.') || '(root)'} has no setting metadata`);
  for (const [key, child] of Object.entries(shape)) walk(child, [...keys, key], out);
}

let cached: Setting[] | undefined;

/** Every setting of the config schema, in schema order. */
export function listSettings(): Setting[] {
  if (!cached) {
    cached = [];
    walk(configSchema, [], cached);
  }
  return cached;
}

export function settingByPath(path: string): Setting | undefined {
  return listSettings().find((s) => s.path === path);
}

export function settingByFlag(flag: string): Setting | undefined {
  return listSettings().find((s) => s.flag === flag);
}

/** How a default is shown in help and docs. */
export function formatDefault(setting: Setting): string {
  if (setting.defaultText) return setting.defaultText;
  if (setting.defaultValue === undefined) return '(unset)';
  if (Array.isArray(setting.defaultValue)) return setting.defaultValue.length ? setting.defaultValue.join(',') : '(none)';
  if (typeof setting.defaultValue === 'object' && setting.defaultValue !== null) {
    const entries = Object.entries(setting.defaultValue);
    return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join(',') : '(none)';
  }
  return String(setting.defaultValue);
}
