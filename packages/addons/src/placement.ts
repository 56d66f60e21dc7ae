/**
 * Where the built-in addons' pods run: on the control plane(s), whose dedicated taint they
 * tolerate, so that their images are loaded into those nodes only (`loadIntoNodes:
 * 'control-planes'`) rather than streamed into every node at every `up`.
 */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** The pod spec fields that place a pod on a control plane (merge them into the pod spec). */
export function onControlPlanes(): { nodeSelector: Record<string, string>; tolerations: object[] } {
  return {
    nodeSelector: { [CONTROL_PLANE_LABEL]: '' },
    tolerations: [{ key: CONTROL_PLANE_LABEL, operator: 'Exists', effect: 'NoSchedule' }],
  };
}

