import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { defineCommand } from 'citty';
import { controlPlaneOf, kubectlOn, LocalClusterError, localClusterHome, requireKubeconfig, runningNodes, upCommandFor } from '@local-cluster/core';
import { DASHBOARD_DEPLOYMENT, DASHBOARD_NAMESPACE, DASHBOARD_PROXY_PATH, DASHBOARD_SERVICE } from '@local-cluster/addons';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';
import { clusterKubectl } from './kubectl.js';

/** Opens a URL on a desktop (a display and xdg-open); says whether it did. */
function openInBrowser(url: string): boolean {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  return spawnSync('xdg-open', [url], { stdio: 'ignore' }).status === 0;
}

export default defineCommand({
  meta: {
    name: 'dashboard',
    description: "Serve the cluster's dashboard through `kubectl proxy` on 127.0.0.1 and print its URL (opened in a browser on a desktop); Ctrl-C stops it.",
  },
  args: {
    port: { type: 'string', description: 'Local port for kubectl proxy (0: any free port).', default: '8001', valueHint: 'PORT' },
    open: { type: 'boolean', description: 'Open the URL in a browser when there is a desktop (--no-open: only print it).', default: true },
    ...settingArgs(),
    ...outputArgs,
  },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const name = loaded.config.cluster.name;
    const port = Number(args.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new LocalClusterError(`--port ${args.port} is not a port number.`, { hint: 'Give 0-65535 (0 picks a free one).' });
    }
    const home = localClusterHome();
    const { signal, dispose } = interruptSignal();
    try {
      const nodes = await runningNodes(createDriver(loaded), name, signal);
      const kubeconfig = requireKubeconfig(home, name);
      const controlPlane = controlPlaneOf(nodes);
      const installed = await kubectlOn(controlPlane, ['-n', DASHBOARD_NAMESPACE, 'get', 'service', DASHBOARD_SERVICE, '-o', 'name'], { signal }).catch(() => '');
      if (!installed.trim()) {
        throw new LocalClusterError(`Cluster "${name}" has no dashboard (the dashboard addon is not in its cluster.addons).`, {
          hint: `Add it and make the cluster again: local-cluster down${name === 'local' ? '' : ` --name ${name}`} && ${upCommandFor(name)} --addons storage,dashboard`,
        });
      }
      // `up` does not wait for the dashboard (it starts in the background): wait for it here
      process.stderr.write('waiting for the dashboard to start...\n');
      await kubectlOn(controlPlane, ['-n', DASHBOARD_NAMESPACE, 'rollout', 'status', `deployment/${DASHBOARD_DEPLOYMENT}`, '--timeout=180s'], { signal }).catch((error: Error) => {
        throw new LocalClusterError(`The dashboard of cluster "${name}" did not start: ${error.message.trim().split('\n').slice(-2).join(' ')}`, {
          hint: `See its pod: local-cluster kubectl${name === 'local' ? '' : ` --name ${name}`} -n ${DASHBOARD_NAMESPACE} describe pods`,
        });
      });
      const kubectl = await clusterKubectl(home, nodes, signal);
      const proxy = spawn(kubectl, ['--kubeconfig', kubeconfig, 'proxy', '--address=127.0.0.1', `--port=${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let errors = '';
      proxy.stderr.on('data', (c: Buffer) => (errors += c.toString()));
      const served = await new Promise<string>((resolve, reject) => {
        createInterface({ input: proxy.stdout! }).on('line', (line) => {
          const m = /Starting to serve on (\S+)/.exec(line);
          if (m) resolve(m[1]!);
        });
        proxy.once('close', (code) =>
          reject(new LocalClusterError(`kubectl proxy stopped (exit ${code}): ${errors.trim() || 'no output'}`, { hint: port ? `Is port ${port} taken? Try --port 0.` : 'Run with --verbose for details.' })),
        );
      });
      const url = `http://${served}${DASHBOARD_PROXY_PATH}`;
      if (args.json) process.stdout.write(JSON.stringify({ url, cluster: name }) + '\n');
      else process.stdout.write(`Dashboard of cluster "${name}": ${url}\n(Ctrl-C stops the proxy)\n`);
      if (args.open && !args.json && openInBrowser(url)) process.stderr.write('opened in your browser\n');
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve(), { once: true });
        proxy.once('close', () => resolve());
      });
      proxy.kill('SIGTERM');
    } finally {
      dispose();
    }
  },
});
