/** The few fields of Node and Pod objects the lifecycle reads (from `kubectl get -o json`). */
export interface Condition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface KubeObjectList {
  items: {
    kind?: string;
    metadata: { name: string; labels?: Record<string, string> };
    spec?: { taints?: { key: string }[]; nodeName?: string };
    status: { conditions?: (Condition & { message?: string })[]; containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[] };
  }[];
}

/** The object's Ready condition when it is True. */
export function readyCondition(item: KubeObjectList['items'][number]): Condition | undefined {
  return item.status.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
}
