import { ADDON_API_VERSION, BACKGROUND_LABEL, NODE_CONTRACT, type Addon, type ImageRequirement } from '@local-cluster/core';
import { onControlPlanes } from './placement.js';

/**
 * Dynamic hostPath volumes: rancher/local-path-provisioner, the provisioner kind ships.
 * The Go module proxy serves v0.0.30; its vendor directory is out of date, so it is
 * built with -mod=mod. The image name is upstream's, so a pulled upstream image is used as is.
 */
export const LOCAL_PATH_MODULE = 'github.com/rancher/local-path-provisioner';
export const LOCAL_PATH_VERSION = 'v0.0.30';
export const LOCAL_PATH_IMAGE = `docker.io/rancher/local-path-provisioner:${LOCAL_PATH_VERSION}`;

export const STORAGE_NAMESPACE = 'local-path-storage';
const NAME = 'local-path-provisioner';
const SERVICE_ACCOUNT = 'local-path-provisioner-service-account';
export const STORAGE_CLASS = 'standard';
export const PROVISIONER = 'rancher.io/local-path';
/** On the node's /var volume: volumes live as long as the node's /var (snapshots keep them). */
export const VOLUMES_DIR = '/var/local-path-provisioner';

export function storageImages(): ImageRequirement[] {
  return [
    {
      ref: LOCAL_PATH_IMAGE,
      loadIntoNodes: 'control-planes',
      recipe: {
        go: [
          {
            module: LOCAL_PATH_MODULE,
            version: LOCAL_PATH_VERSION,
            binary: NAME,
            ldflags: [`-X main.VERSION=${LOCAL_PATH_VERSION}`],
            env: { GOFLAGS: '-mod=mod' },
          },
        ],
        entrypoint: [`/usr/local/bin/${NAME}`],
      },
    },
  ];
}

/** The helper pods that make and remove volume directories run the toolbox image every node has. */
function helperPod(): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helper-pod' },
    spec: {
      priorityClassName: 'system-node-critical',
      tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'helper-pod', image: NODE_CONTRACT.toolboxImage, imagePullPolicy: 'Never' }],
    },
  });
}

/** Namespace, RBAC, config, the provisioner and the default StorageClass. */
export function storageManifest(): object[] {
  const labels = { app: NAME };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: STORAGE_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace: STORAGE_NAMESPACE } },
    {
      // helper pods in its own namespace
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: NAME, namespace: STORAGE_NAMESPACE },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: NAME, namespace: STORAGE_NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: STORAGE_NAMESPACE }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME },
      rules: [
        { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: STORAGE_NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'local-path-config', namespace: STORAGE_NAMESPACE },
      data: {
        'config.json': JSON.stringify({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [VOLUMES_DIR] }] }, null, 2),
        setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
        teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
        'helperPod.yaml': helperPod(),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: STORAGE_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          // `up` does not wait for it (BACKGROUND_LABEL): it starts in the seconds after
          metadata: { labels: { ...labels, [BACKGROUND_LABEL]: 'true' } },
          spec: {
            serviceAccountName: SERVICE_ACCOUNT,
            priorityClassName: 'system-cluster-critical',
            // on the control plane(s), the only nodes its image is loaded into
            ...onControlPlanes(),
            containers: [
              {
                name: NAME,
                image: LOCAL_PATH_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: [NAME, 'start', '--config', '/etc/config/config.json', '--provisioner-name', PROVISIONER, '--helper-image', NODE_CONTRACT.toolboxImage],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'CONFIG_MOUNT_PATH', value: '/etc/config/' },
                ],
                resources: { requests: { cpu: '10m', memory: '20Mi' } },
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config/' }],
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: 'local-path-config' } }],
          },
        },
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: PROVISIONER,
      // a volume is made on the node its first pod is scheduled to
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    },
  ];
}

/** The `storage` addon: a default StorageClass backed by node-local directories. */
export function storage(): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'storage',
    // objects only; the pods schedule once the control plane is Ready
    installAfter: 'kubeadm-init',
    images: () => storageImages(),
    async install(ctx) {
      await ctx.apply(storageManifest());
    },
  };
}

export default storage;
