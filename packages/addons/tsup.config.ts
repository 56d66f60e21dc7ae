import { packageBuild } from '../../tsup.base.js';

export default packageBuild(['src/index.ts', 'src/dashboard.ts', 'src/storage.ts', 'src/metrics-server.ts', 'src/metallb.ts', 'src/registry.ts', 'src/ingress.ts']);
