import { manifestCni, type CniPlugin } from '@local-cluster/core';

/** Images the weave daemons run. No offline build ships yet: without a registry they must be loaded into the engine by hand. */
export const WEAVE_IMAGES = ['docker.io/weaveworks/weave-kube:2.8.1', 'docker.io/weaveworks/weave-npc:2.8.1'];

/** Weave Net in sleeve mode (fastdp needs kernel features these hosts lack). */
export function weave(options: { podSubnet?: string } = {}): CniPlugin {
  return manifestCni({ name: 'weave', defaultPodSubnet: '10.32.0.0/12', podSubnet: options.podSubnet, images: WEAVE_IMAGES });
}

export default weave;
