import { ensureImage, imageCacheDir, localClusterHome } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import calico from '@local-cluster/cni-calico';
const driver = dockerDriver();
const logger = { info: (m) => console.log(m), debug: () => {}, warn: (m) => console.log('warn', m) };
for (const image of calico().images()) {
  const t = Date.now();
  const s = await ensureImage({ image, neededBy: 'CNI plugin "calico"' }, { driver, cacheDir: imageCacheDir(localClusterHome()), logger, signal: new AbortController().signal });
  console.log(image.ref, s.state, (Date.now() - t) / 1000);
}
