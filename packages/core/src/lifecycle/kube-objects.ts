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
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec?: { taints?: { key: string }[]; nodeName?: string };
    status: {
      phase?: string;
      conditions?: (Condition & { message?: string })[];
      containerStatuses?: { name?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
    };
  }[];
}

/** The object's Ready condition when it is True. */
export function readyCondition(item: KubeObjectList['items'][number]): Condition | undefined {
  return item.status.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
}
