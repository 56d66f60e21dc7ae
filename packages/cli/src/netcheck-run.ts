import { addAddon, controlPlaneOf, kubectlOn, runningNodes, type Driver, type LoadedConfig, type Logger } from '@local-cluster/core';
import { runNetcheck, selectCases, type NetcheckOptions, type NetcheckReport } from '@local-cluster/verify';
import { loadAddonPlugin } from './wiring.js';

/**
 * `netcheck` as the CLI and cluster handles run it: when the loadbalancer case is selected and the
 * cluster has no LoadBalancer implementation (no MetalLB, no Service with an address), the metallb
 * addon is installed first (it stays, as `minikube addons enable` would leave it).
 */
export async function netcheckWithLoadBalancer(
  loaded: LoadedConfig,
  options: Omit<NetcheckOptions, 'cluster' | 'driver'> & { driver: Driver; lbAddon?: boolean; logger: Logger },
): Promise<NetcheckReport> {
  const { driver, logger, signal } = options;
  const cluster = loaded.config.cluster.name;
  const cases = selectCases(options.cases);
  if (options.lbAddon !== false && cases.some((c) => c.name === 'loadbalancer')) {
    const nodes = await runningNodes(driver, cluster, signal);
    const kubectl = (args: string[]) => kubectlOn(controlPlaneOf(nodes), args, { signal }).catch(() => '');
    const metallb = (await kubectl(['get', 'namespace', 'metallb-system', '-o', 'name'])).trim();
    const assigned = (await kubectl(['get', 'services', '-A', '-o', 'jsonpath={.items[*].status.loadBalancer.ingress[*].ip}'])).trim();
    if (!metallb && !assigned) {
      logger.info('the cluster has no LoadBalancer implementation: installing the metallb addon (it stays; --no-lb-addon skips the loadbalancer case instead)');
      await addAddon({ driver, config: loaded.config, addon: await loadAddonPlugin('metallb', loaded), logger, signal, ...(options.home ? { home: options.home } : {}) });
    }
  }
  return runNetcheck({ ...options, cluster });
}
