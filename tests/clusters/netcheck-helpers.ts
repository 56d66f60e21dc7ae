import { expect } from 'vitest';
import type { NetcheckReport } from '@local-cluster/verify';

// What the netcheck files read from `netcheck --json`.

export function report(stdout: string): NetcheckReport {
  return JSON.parse(stdout) as NetcheckReport;
}

/** Every mismatched cell as `table: source -> target`. */
export function mismatches(r: NetcheckReport): string[] {
  return r.cases.flatMap((c) => c.tables.flatMap((t) => t.cells.filter((x) => x.expected !== x.observed).map((x) => `${t.name}: ${x.source} -> ${x.target}`))).sort();
}

/** The cases that need the ingress addon: a cluster without it has them skipped, saying so. */
export const INGRESS_CASES = ['ingress', 'gateway'];
const withoutIngress = (c: NetcheckReport['cases'][number]) => INGRESS_CASES.includes(c.name) && c.status === 'skipped' && /add the ingress addon/.test(c.reason ?? '');

/** Every case passed, on a cluster without the ingress addon: its two cases skipped with the reason. */
export function expectAllGreen(r: NetcheckReport, stderr: string): void {
  const problems = [...mismatches(r), ...r.cases.filter((c) => c.status !== 'passed' && !withoutIngress(c)).map((c) => `${c.name}: ${c.status} ${c.reason ?? ''}`)];
  expect(problems, stderr.slice(-2000)).toEqual([]);
  expect(r.passed).toBe(11);
  expect(r.cases.filter(withoutIngress).map((c) => c.name)).toEqual(INGRESS_CASES);
  // every case that ran probes positive cells and at least one negative control
  for (const c of r.cases.filter((x) => x.status === 'passed')) {
    const cells = c.tables.flatMap((t) => t.cells);
    expect(cells.some((x) => x.expected), `${c.name} has positive cells`).toBe(true);
    expect(cells.some((x) => !x.expected), `${c.name} has a negative control`).toBe(true);
  }
}

/** An API list's items, as the ip-family files read them. */
export type Item = { metadata: { name: string; namespace?: string }; spec: Record<string, unknown>; status: Record<string, unknown> };
export const items = (json: string) => (JSON.parse(json) as { items: Item[] }).items;
export const isV6 = (ip: string) => ip.includes(':');

/** Per netcheck case of one family: its status. */
export function familyStatuses(r: NetcheckReport, family: 'ipv4' | 'ipv6'): Record<string, string> {
  return Object.fromEntries(r.cases.filter((c) => (c as { family?: string }).family === family).map((c) => [c.name, c.status]));
}

/**
 * Every netcheck case passed (netcheck installs the metallb addon on demand: it has a pool in each
 * family), but the ingress addon's two, skipped on a cluster without it.
 */
export const EVERY_CASE_WITHOUT_INGRESS = { 'pod-to-pod': 'passed', clusterip: 'passed', headless: 'passed', nodeport: 'passed', loadbalancer: 'passed', externalname: 'passed', hairpin: 'passed', affinity: 'passed', hostnetwork: 'passed', 'udp-stale': 'passed', terminating: 'passed', ingress: 'skipped', gateway: 'skipped' };
