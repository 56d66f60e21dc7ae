import { defineCommand } from 'citty';
import { configJsonSchema, describeSource, listSettings } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { printTable } from '../table.js';

const view = defineCommand({
  meta: { name: 'view', description: 'Print the effective config and where each value came from.' },
  args: { ...settingArgs(), ...outputArgs },
  run({ args }) {
    const loaded = configFromArgs(args);
    const rows = listSettings().map((s) => {
      const value = s.keys.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], loaded.config);
      return { setting: s.path, value, source: loaded.sources[s.path]! };
    });
    if (args.json) {
      process.stdout.write(JSON.stringify({ file: loaded.file ?? null, config: loaded.config, sources: loaded.sources }, null, 2) + '\n');
      return;
    }
    process.stdout.write(`config file: ${loaded.file ?? '(none)'}\n`);
    printTable(
      ['SETTING', 'VALUE', 'SOURCE'],
      rows.map((r) => [r.setting, r.value === undefined ? '(unset)' : Array.isArray(r.value) ? r.value.join(',') : String(r.value), describeSource(r.source)]),
    );
  },
});

const schema = defineCommand({
  meta: { name: 'schema', description: 'Print the JSON Schema of the config file (for editors).' },
  run() {
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  },
});

export default defineCommand({
  meta: { name: 'config', description: 'Inspect the configuration.' },
  subCommands: { view, schema },
});
