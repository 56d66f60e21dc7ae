export { dashboard, DASHBOARD_IMAGES } from './dashboard.js';
export { manifestAddon, readManifest, isManifestSpec, type ManifestAddonOptions } from './manifest.js';
