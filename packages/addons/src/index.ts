export { dashboard, DASHBOARD_IMAGES } from './dashboard.js';
export { manifestAddon, readManifest, isManifestSpec, type ManifestAddonOptions } from './manifest.js';
export { storage, storageImages, storageManifest, LOCAL_PATH_IMAGE, STORAGE_CLASS, STORAGE_NAMESPACE, PROVISIONER, VOLUMES_DIR } from './storage.js';
export { metricsServer, metricsServerImages, metricsServerManifest, METRICS_SERVER_IMAGE } from './metrics-server.js';
