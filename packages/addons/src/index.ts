export { dashboard, dashboardImage, dashboardManifest, nodeRuntime, DASHBOARD_DEPLOYMENT, DASHBOARD_NAMESPACE, DASHBOARD_SERVICE, DASHBOARD_PROXY_PATH } from './dashboard.js';
export { allowed as dashboardAllows } from './dashboard/paths.js';
export { manifestAddon, loadManifestAddon, manifestDocuments, manifestImages, readManifest, isManifestSpec, type ManifestAddonOptions } from './manifest.js';
export { storage, storageImages, storageManifest, LOCAL_PATH_IMAGE, STORAGE_CLASS, STORAGE_NAMESPACE, PROVISIONER, VOLUMES_DIR } from './storage.js';
export { metricsServer, metricsServerImages, metricsServerManifest, METRICS_SERVER_IMAGE } from './metrics-server.js';
export { metallb, metallbImages, metallbManifest, metallbPoolManifest, metallbCrds, metallbPool, METALLB_CONTROLLER_IMAGE, METALLB_SPEAKER_IMAGE, METALLB_NAMESPACE, METALLB_POOL_NAME, METALLB_POOL_SIZE } from './metallb.js';
export { registry, registryImage, registryName, registryHosts, registryHostingManifest, registryPreflight, registryStatus, startRegistry, removeRegistry, findRegistry, REGISTRY_CONTAINER, REGISTRY_CONTAINER_PORT, REGISTRY_IMAGE, REGISTRY_VOLUME, REGISTRY_HOSTING_CONFIGMAP, type RegistryStatus } from './registry.js';
export { ingress, ingressImages, ingressManifest, gatewayManifest, gatewayApiCrds, ingressPortMappings, ingressPreflight, traefikArgs, traefikBinary, TRAEFIK_IMAGE, TRAEFIK_VERSION, GATEWAY_API_MODULE, GATEWAY_API_DEFAULT_VERSION, INGRESS_NAMESPACE, INGRESS_CLASS, GATEWAY_CLASS, DEFAULT_GATEWAY, INGRESS_TLS_SECRET, INGRESS_TLS_NAMES } from './ingress.js';
