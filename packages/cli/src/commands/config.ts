import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import yaml from 'js-yaml';
import { apiServerPublish, ConfigError, configJsonSchema, convertKindConfig, isKindConfig, KIND_API_VERSION, readRawConfigFile, describeSource, listSettings, planNodes, renderClusterKubeadm } from '@local-cluster/core';
import { createDriver, loadCni } from '../wiring.js';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { printTable } from '../table.js';

/** Scalars and string lists as flags write them; maps as KEY=VALUE pairs; structures as compact JSON. */
function showValue(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v !== 'object')) {
    return Object.entries(value).map(([k, v]) => `${k}=${String(v)}`).join(',');
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

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
      rows.map((r) => [r.setting, showValue(r.value), describeSource(r.source)]),
    );
  },
});

const schema = defineCommand({
  meta: { name: 'schema', description: 'Print the JSON Schema of the config file (for editors).' },
  run() {
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  },
});

const kubeadm = defineCommand({
  meta: {
    name: 'kubeadm',
    description: 'Print the kubeadm documents `up` would use (init, then a join per worker), with cluster.kubeadmPatches, feature gates and component flags applied.',
  },
  args: settingArgs(),
  async run({ args }) {
    const loaded = configFromArgs(args);
    // the certificate names the address the kubeconfig will use (a remote engine's host)
    process.stdout.write(renderClusterKubeadm(loaded.config, planNodes(loaded.config), await loadCni(loaded), apiServerPublish(loaded.config, createDriver(loaded)).address));
  },
});

const convert = defineCommand({
  meta: {
    name: 'convert',
    description: `Print the local-cluster config equivalent to a kind cluster config (${KIND_API_VERSION}); fields without an equivalent are refused, named.`,
  },
  args: { file: { type: 'positional', required: true, description: 'The kind config file (kind: Cluster).' } },
  run({ args }) {
    const file = resolve(String(args.file));
    const doc = readRawConfigFile(file);
    if (!isKindConfig(doc)) {
      throw new ConfigError(`${file} is not a kind cluster config: it needs kind: Cluster and apiVersion: ${KIND_API_VERSION}.`, {
        source: { kind: 'file', path: file },
        hint: 'Pass a kind config; a local-cluster config needs no converting (`local-cluster config view` shows what it sets).',
      });
    }
    const { config } = convertKindConfig(doc, file);
    process.stdout.write(`# local-cluster config equivalent to the kind config ${file}\n# (paths relative to the kind config's directory)\n`);
    process.stdout.write(yaml.dump(config, { noRefs: true, lineWidth: -1 }));
  },
});

export default defineCommand({
  meta: { name: 'config', description: 'Inspect the configuration, or convert a kind config.' },
  subCommands: { view, schema, kubeadm, convert },
});
