/**
 * The images a Kubernetes release's e2e suite runs, read from that release's
 * own test/utils/image/manifest.go (so a new release needs no hand list).
 */

/** One entry of the suite's image table, e.g. Agnhost -> registry.k8s.io/e2e-test-images/agnhost:2.56. */
export interface SuiteImage {
  /** The ImageID constant in manifest.go (Agnhost, BusyBox, Httpd, ...). */
  id: string;
  /** Image name under its registry (agnhost, busybox, sample-apiserver, ...). */
  name: string;
  version: string;
  /** The full reference the suite asks the nodes for. */
  ref: string;
}

/** Parses manifest.go: the default registries (initRegistry) and the image configs (initImageConfigs). */
export function parseImageManifest(source: string): SuiteImage[] {
  const registries = new Map<string, string>();
  const block = /initRegistry\s*=\s*RegistryList\{([\s\S]*?)\n\s*\}/.exec(source)?.[1] ?? '';
  for (const m of block.matchAll(/(\w+):\s*"([^"]+)"/g)) registries.set(m[1]!, m[2]!);
  const images: SuiteImage[] = [];
  for (const m of source.matchAll(/configs\[(\w+)\]\s*=\s*Config\{list\.(\w+),\s*"([^"]+)",\s*"([^"]+)"\}/g)) {
    const registry = registries.get(m[2]!);
    if (!registry) continue;
    images.push({ id: m[1]!, name: m[3]!, version: m[4]!, ref: `${registry}/${m[3]}:${m[4]}` });
  }
  return images;
}
