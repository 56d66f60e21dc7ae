import type { GoBinary } from '../contracts/image.js';
import type { Logger } from '../contracts/context.js';
import { ensureGoBinaries } from '../images/factory.js';
import { imageCacheDir } from './images.js';

/** The Helm 3 release `local-cluster helm` runs (built from its Go module, like every other program here). */
export const HELM_VERSION = 'v3.22.0';

export function helmBinary(version = HELM_VERSION): GoBinary {
  return {
    module: 'helm.sh/helm/v3',
    version,
    package: 'cmd/helm',
    binary: 'helm',
    ldflags: [`-X helm.sh/helm/v3/internal/version.version=${version}`],
  };
}

/** Path of the Helm client, built once through the image factory's binary cache. */
export async function ensureHelm(options: { home: string; logger: Logger; signal: AbortSignal; version?: string }): Promise<string> {
  const binary = helmBinary(options.version);
  const paths = await ensureGoBinaries(`helm-${binary.version}`, [binary], {
    cacheDir: imageCacheDir(options.home),
    logger: options.logger,
    signal: options.signal,
    neededBy: 'local-cluster helm',
  });
  return paths.helm!;
}
