import { manifestCni, type CniPlugin } from '@local-cluster/core';

/** Images the flannel daemons run. No offline build ships yet: without a registry they must be loaded into the engine by hand. */
export const FLANNEL_IMAGES = ['ghcr.io/flannel-io/flannel:v0.26.7', 'ghcr.io/flannel-io/flannel-cni-plugin:v1.7.1-flannel1'];

/** Flannel with the vxlan backend. */
export function flannel(options: { podSubnet?: string } = {}): CniPlugin {
  return manifestCni({ name: 'flannel', defaultPodSubnet: '10.244.0.0/16', podSubnet: options.podSubnet, images: FLANNEL_IMAGES });
}

export default flannel;
