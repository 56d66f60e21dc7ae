import { packageBuild } from '../../tsup.base.js';

export default packageBuild(['src/index.ts', 'src/contracts/index.ts', 'src/testing/index.ts']);
