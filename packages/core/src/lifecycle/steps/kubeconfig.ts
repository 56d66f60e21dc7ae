import type { Step } from '../../engine/steps.js';
import { readNodeFile } from '../../nodeutil.js';
import { ADMIN_CONF, controlPlaneOf, type UpContext } from '../context.js';
import { mergeIntoUserKubeconfig, rewriteAdminKubeconfig, userKubeconfigPath, writeAtomically } from '../kubeconfig.js';
import { adminKubeconfigFile, kubeContextName } from '../naming.js';
import { apiServerUrl } from '../api-address.js';

/** Writes the admin kubeconfig under the tool's home and merges it into the user's, like kind. */
export const exportKubeconfig: Step<UpContext> = {
  name: 'kubeconfig',
  title: 'Export the kubeconfig',
  async run(ctx, rt) {
    const admin = await readNodeFile(controlPlaneOf(ctx.nodes), ADMIN_CONF, rt);
    const contextName = kubeContextName(ctx.config.cluster.name);
    const ours = rewriteAdminKubeconfig(admin, contextName, apiServerUrl(ctx.apiServer.address, ctx.apiServerHostPort!));
    ctx.kubeconfigPath = adminKubeconfigFile(ctx.clusterDir);
    await writeAtomically(ctx.kubeconfigPath, ours);
    if (ctx.userKubeconfig !== false) {
      const target = ctx.userKubeconfig ?? userKubeconfigPath();
      await mergeIntoUserKubeconfig(ours, target);
      rt.logger.info(`context ${contextName} set in ${target}`);
    }
  },
};
