import type { ArgsDef } from 'citty';
import { closest, distance } from 'fastest-levenshtein';
import { CONFIG_FILE_ENV, ConfigError, formatDefault, KIND_API_VERSION, listSettings, loadConfig, type LoadedConfig } from '@local-cluster/core';

/** One flag per setting, generated from the config schema. */
export function settingArgs(): ArgsDef {
  const args: ArgsDef = {
    config: {
      type: 'string',
      valueHint: 'FILE',
      description: `The config file: local-cluster's, or kind's cluster config (${KIND_API_VERSION}), read as its equivalent [$${CONFIG_FILE_ENV}; default: ~/.local-cluster/config.yaml when it exists]`,
    },
  };
  for (const s of listSettings()) {
    if (!s.flag) continue;
    const description = `${s.description} [${s.path}, $${s.env}; default: ${formatDefault(s)}]`;
    args[s.flag] =
      s.type === 'boolean'
        ? { type: 'boolean', description }
        : { type: 'string', description, valueHint: s.placeholder ?? 'VALUE' };
  }
  return args;
}

export const outputArgs = {
  json: { type: 'boolean', description: 'Print machine-readable JSON (progress as JSON events, one per line).' },
} as const satisfies ArgsDef;

/** Flags that were removed, and what replaces them: their error says so instead of guessing a typo. */
export const MOVED_FLAGS: Record<string, string> = {
  quick: 'The quick checks are a command of their own: run `local-cluster check` (`e2e` runs the upstream conformance suite only).',
};

/** citty ignores unknown flags; a typo must not be silently dropped. */
export function rejectUnknownFlags(rawArgs: readonly string[], known: ArgsDef): void {
  const names = new Set<string>(['help', 'h', 'version']);
  for (const [name, def] of Object.entries(known)) {
    names.add(name);
    for (const alias of [def.type !== 'positional' ? (def as { alias?: string | string[] }).alias : undefined].flat()) {
      if (alias) names.add(alias);
    }
  }
  for (const arg of rawArgs) {
    if (arg === '--') break;
    const m = /^--?(?:no-)?([^=]+)/.exec(arg);
    if (!m || /^-\d/.test(arg)) continue;
    const name = m[1]!;
    if (names.has(name)) continue;
    const moved = MOVED_FLAGS[name];
    if (moved) throw new ConfigError(`--${name} is gone. ${moved}`, { source: { kind: 'flag', name }, hint: 'Run the command with --help to see its flags.' });
    const best = closest(name, [...names]);
    const hint = best && distance(name, best) <= Math.max(2, name.length / 3) ? ` Did you mean --${best}?` : '';
    throw new ConfigError(`Unknown flag ${arg.split('=')[0]}.${hint}`, {
      source: { kind: 'flag', name },
      hint: 'Run the command with --help to see its flags.',
    });
  }
}

/** Loads the effective config from flags (as citty parsed them), env and file. */
export function configFromArgs(args: Record<string, unknown>): LoadedConfig {
  const flags: Record<string, string | boolean> = {};
  for (const s of listSettings()) {
    if (!s.flag) continue;
    const value = args[s.flag];
    if (value === undefined) continue;
    // a bare --verbose means level 2
    flags[s.flag] = s.flag === 'verbose' && (value === '' || value === true) ? '2' : (value as string | boolean);
  }
  const file = typeof args.config === 'string' && args.config !== '' ? args.config : undefined;
  return loadConfig({ flags, ...(file ? { file, fileSource: { kind: 'flag', name: 'config' } } : {}) });
}
