import { packageBuild } from '../../tsup.base.js';

export default packageBuild(['src/index.ts', 'src/bin.ts', 'src/plugin-resolve.ts', 'src/framework/index.ts'], ['src/index.ts', 'src/framework/index.ts']);
