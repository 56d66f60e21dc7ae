import type { ArgDef, ArgsDef, CommandDef, CommandMeta, Resolvable, SubCommandsDef } from 'citty';
import { listSettings } from '@local-cluster/core';
import { rootCommand } from './main.js';

/** citty's Resolvable: a value, a promise, or a function giving either (lazy commands, args, meta). */
async function resolveValue<T>(value: Resolvable<T>): Promise<T> {
  return typeof value === 'function' ? await (value as () => T | Promise<T>)() : await value;
}

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function flagCell(name: string, def: ArgDef): string {
  if (def.type === 'positional') return `\`${name.toUpperCase()}\``;
  const aliases = [(def as { alias?: string | string[] }).alias ?? []].flat().map((a) => `\`${a.length === 1 ? '-' : '--'}${a}\``);
  if (def.type === 'boolean') {
    const forms = def.default === true ? [`\`--${name}\``, `\`--no-${name}\``] : [`\`--${name}\``];
    return [...forms, ...aliases].join(', ');
  }
  return [`\`--${name} ${def.valueHint ?? 'VALUE'}\``, ...aliases].join(', ');
}

function typeCell(def: ArgDef): string {
  switch (def.type) {
    case 'positional':
      return def.required === false ? 'positional, optional' : 'positional';
    case 'enum':
      return (def.options ?? []).join(' \\| ');
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}

async function renderCommand(path: string[], command: CommandDef<ArgsDef>, depth: number, settingFlags: ReadonlySet<string>): Promise<string[]> {
  const meta: CommandMeta = (command.meta ? await resolveValue(command.meta) : undefined) ?? {};
  const args: ArgsDef = (command.args ? await resolveValue(command.args) : undefined) ?? {};
  const subCommands: SubCommandsDef = (command.subCommands ? await resolveValue(command.subCommands) : undefined) ?? {};
  const lines = [`${'#'.repeat(depth)} \`${path.join(' ')}\``, ''];
  if (meta.description) lines.push(meta.description, '');
  const entries = Object.entries(args);
  const allSettings = settingFlags.size > 0 && [...settingFlags].every((flag) => flag in args);
  const own = entries.filter(([name]) => !(allSettings && settingFlags.has(name)));
  if (own.length) {
    lines.push('| Flag | Type | Default | Description |', '|---|---|---|---|');
    for (const [name, def] of own) {
      const fallback = def.default === undefined ? '-' : `\`${String(def.default)}\``;
      lines.push(`| ${flagCell(name, def)} | ${typeCell(def)} | ${fallback} | ${cell(def.description ?? '')} |`);
    }
    lines.push('');
  }
  if (allSettings) lines.push('Also takes every setting of [the configuration table](configuration.md#settings) as a flag.', '');
  const subs = Object.entries(subCommands);
  if (subs.length) {
    lines.push(`Subcommands: ${subs.map(([name]) => `\`${name}\``).join(', ')}.`, '');
    for (const [name, sub] of subs) {
      lines.push(...(await renderCommand([...path, name], (await resolveValue(sub)) as CommandDef<ArgsDef>, depth + 1, settingFlags)));
    }
  }
  return lines;
}

/**
 * The command reference of docs/user/commands.md, generated from the CLI's citty definitions: one
 * section per command and subcommand with its description and a table of its own flags (the
 * settings' flags, which most commands share, are named once). Lazy definitions are resolved.
 */
export async function commandReferenceMarkdown(root: CommandDef<ArgsDef> = rootCommand as CommandDef<ArgsDef>): Promise<string> {
  const settingFlags = new Set(listSettings().flatMap((s) => (s.flag ? [s.flag] : [])));
  const rootMeta: CommandMeta = (root.meta ? await resolveValue(root.meta) : undefined) ?? {};
  const subCommands: SubCommandsDef = (root.subCommands ? await resolveValue(root.subCommands) : undefined) ?? {};
  const lines: string[] = [];
  for (const [name, sub] of Object.entries(subCommands)) {
    lines.push(...(await renderCommand([rootMeta.name ?? 'local-cluster', name], (await resolveValue(sub)) as CommandDef<ArgsDef>, 3, settingFlags)));
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}
