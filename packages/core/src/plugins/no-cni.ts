import { CNI_API_VERSION, type CniPlugin } from '../contracts/cni.js';

/** cluster.cniPlugin's value for no CNI at all. */
export const NO_CNI = 'none';

/**
 * The "none" CNI (kind's `disableDefaultCNI`): nothing is installed, so nodes stay NotReady and
 * pods other than host-network ones get no address until the user installs a CNI after `up`.
 * kubeadm still gets a pod subnet (kind's default, 10.244.0.0/16, or cluster.podSubnet) and the
 * controller manager allocates node CIDRs, which flannel, calico and others read.
 */
export function noCni(): CniPlugin {
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: NO_CNI,
    defaultPodSubnet: '10.244.0.0/16',
    supports: { multiNode: true, ipFamilies: ['ipv4'], podNetwork: false },
  };
}

/** Whether a CNI gives pods a network (every CNI but "none"). */
export function givesPodNetwork(cni: CniPlugin): boolean {
  return cni.supports?.podNetwork !== false;
}
