import { manifestCni, type CniPlugin } from '@local-cluster/core';

/**
 * Why Weave Net's images have no offline recipe yet. Measured: the archived project is served
 * only as github.com/weaveworks/weave v2.6.5+incompatible (no go.mod); weave-npc and kube-utils
 * build with CGO off and weaver with cgo + libpcap once a go.mod is written from Gopkg.lock's
 * pins, but seven of its dependencies (weaveworks/mesh, go-odp, go-checkpoint, common at its
 * pinned revision, andybalholm/go-bit, mdlayher/raw, docker/libnetwork at a working revision)
 * are not served by the Go module proxy, and this project does not copy their sources in.
 */
export const WEAVE_UNAVAILABLE =
  'Weave Net cannot be built offline here: seven of its Go dependencies (github.com/weaveworks/mesh, go-odp, go-checkpoint, weaveworks/common, andybalholm/go-bit, mdlayher/raw, docker/libnetwork) are not served by the Go module proxy; load weave-kube and weave-npc into the engine (docker load) to use it';

/** Images the weave daemons run: usable when a user loads them into the engine. */
export const WEAVE_IMAGES = ['docker.io/weaveworks/weave-kube:2.8.1', 'docker.io/weaveworks/weave-npc:2.8.1'];

/** Weave Net in sleeve mode (fast datapath needs the openvswitch module, which these kernels lack). */
export function weave(options: { podSubnet?: string } = {}): CniPlugin {
  return manifestCni({
    name: 'weave',
    defaultPodSubnet: '10.32.0.0/12',
    podSubnet: options.podSubnet,
    images: WEAVE_IMAGES.map((ref) => ({ ref, whyNoRecipe: WEAVE_UNAVAILABLE })),
  });
}

export default weave;
