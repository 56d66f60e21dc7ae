import { CNI_API_VERSION, type CniPlugin } from '../contracts/cni.js';
import type { ImageRequirement } from '../contracts/context.js';

export interface ManifestCniDefinition {
  name: string;
  defaultPodSubnet: string;
  /** Overrides defaultPodSubnet for this cluster. */
  podSubnet?: string | undefined;
  /** Images the CNI's daemons run, with their offline builds where there are any. */
  images: readonly (string | ImageRequirement)[];
  /** The manifest to apply after init, given the pod subnet. */
  manifest?: (podSubnet: string) => string;
}

/**
 * A CNI delivered as images plus a manifest (flannel, calico, weave, or a
 * third party's): the pod subnet flows into kubeadm before init, images are
 * checked in preflight, the manifest is applied after init.
 */
export function manifestCni(def: ManifestCniDefinition): CniPlugin {
  const podSubnet = def.podSubnet ?? def.defaultPodSubnet;
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: def.name,
    defaultPodSubnet: def.defaultPodSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4'] },
    images: () => def.images.map((image) => (typeof image === 'string' ? { ref: image } : image)),
    configure: () => ({ podSubnet }),
    ...(def.manifest ? { install: async (ctx) => ctx.apply(def.manifest!(ctx.podSubnet)) } : {}),
  };
}
