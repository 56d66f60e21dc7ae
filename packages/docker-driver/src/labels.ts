import { DriverError, LABELS, type ObjectRole, type Selector } from '@local-cluster/core';

/**
 * Ownership labels: what every created object carries, and how list and remove
 * select by them. Pure functions, so the rules are testable without an engine.
 */

/** The labels an object is created with: the caller's, a default role, and managed=true. */
export function ownedLabels(labels: Readonly<Record<string, string>>, defaultRole: ObjectRole): Record<string, string> {
  return { [LABELS.role]: defaultRole, ...labels, [LABELS.managed]: 'true' };
}

/** Every label an object must carry to match `selector` (managed=true always). */
export function selectorLabels(selector: Selector, defaultRole?: ObjectRole): Record<string, string> {
  const wanted: Record<string, string> = { ...selector.labels, [LABELS.managed]: 'true' };
  if (selector.cluster !== undefined) wanted[LABELS.cluster] = selector.cluster;
  const role = selector.role ?? defaultRole;
  if (role !== undefined) wanted[LABELS.role] = role;
  return wanted;
}

/** The engine's `label` filter values (`key=value`) for `selector`; the engine ANDs them. */
export function labelFilters(selector: Selector, defaultRole?: ObjectRole): string[] {
  return Object.entries(selectorLabels(selector, defaultRole)).map(([key, value]) => `${key}=${value}`);
}

/** Whether an object's labels satisfy `selector`. Used before any removal. */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | null | undefined,
  selector: Selector,
  defaultRole?: ObjectRole,
): boolean {
  const have = labels ?? {};
  return Object.entries(selectorLabels(selector, defaultRole)).every(([key, value]) => have[key] === value);
}

/** Human-readable selector for refusal messages. */
export function describeSelector(selector: Selector, defaultRole?: ObjectRole): string {
  return labelFilters(selector, defaultRole).join(', ');
}

/** Throws the refusal every removal gives for an object the selector does not own. */
export function assertOwned(
  operation: string,
  what: string,
  labels: Readonly<Record<string, string>> | null | undefined,
  selector: Selector,
  defaultRole?: ObjectRole,
): void {
  if (matchesSelector(labels, selector, defaultRole)) return;
  const managed = labels?.[LABELS.managed] === 'true';
  throw new DriverError(operation, `refusing: the ${what} does not carry the labels ${describeSelector(selector, defaultRole)}`, {
    hint: managed ? 'It belongs to another cluster or has another role.' : 'It was not created by local-cluster; remove it yourself if you mean to.',
  });
}
