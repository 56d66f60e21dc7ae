import { manifestCni, type CniPlugin } from '@local-cluster/core';

/** Images the calico daemons run. No offline build ships yet: without a registry they must be loaded into the engine by hand. */
export const CALICO_IMAGES = ['docker.io/calico/node:v3.29.3', 'docker.io/calico/cni:v3.29.3', 'docker.io/calico/kube-controllers:v3.29.3'];

/** Calico in VXLAN mode (these kernels have no IPIP). */
export function calico(options: { podSubnet?: string } = {}): CniPlugin {
  return manifestCni({ name: 'calico', defaultPodSubnet: '192.168.0.0/16', podSubnet: options.podSubnet, images: CALICO_IMAGES });
}

export default calico;
