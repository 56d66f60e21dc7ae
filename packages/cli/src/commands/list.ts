import { defineCommand } from 'citty';
import { configFromArgs, outputArgs } from '../settings-args.js';
import { createDriver } from '../wiring.js';
import { printTable } from '../table.js';

export default defineCommand({
  meta: { name: 'list', description: 'List the clusters this tool created on the container engine.' },
  args: { ...outputArgs },
  async run({ args }) {
    const driver = createDriver(configFromArgs({}));
    const clusters = await driver.listClusters();
    if (args.json) {
      process.stdout.write(JSON.stringify(clusters, null, 2) + '\n');
      return;
    }
    if (clusters.length === 0) {
      process.stdout.write('No clusters.\n');
      return;
    }
    printTable(
      ['NAME', 'NODES', 'RUNNING', 'SNAPSHOTS'],
      clusters.map((c) => [
        c.name,
        String(c.nodes.length),
        String(c.nodes.filter((n) => n.state === 'running').length),
        String(c.snapshots),
      ]),
    );
  },
});
