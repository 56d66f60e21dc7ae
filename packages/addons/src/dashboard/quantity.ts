// Kubernetes resource quantities as people read them, the way `kubectl top` prints them.

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity (`84410475n`, `250m`, `2`, `568784Ki`, `1.5Gi`, `1e3`) as a number of its base unit; undefined if it is not one. */
export function parseQuantity(quantity: string | undefined): number | undefined {
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(quantity?.trim() ?? '');
  return m ? Number(m[1]) * SUFFIX[m[2] ?? '']! : undefined;
}

/** CPU in millicores: `84410475n` -> `84m`. */
export function cpu(quantity: string | undefined): string {
  const cores = parseQuantity(quantity);
  return cores === undefined ? (quantity ?? '') : `${Math.round(cores * 1000)}m`;
}

/** Memory in binary units: `568784Ki` -> `555 MiB`, `24684084Ki` -> `23.5 GiB`. */
export function memory(quantity: string | undefined): string {
  const bytes = parseQuantity(quantity);
  if (bytes === undefined) return quantity ?? '';
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MiB`;
  return `${Math.round(bytes / 2 ** 10)} KiB`;
}

/** `used` as a whole percentage of `capacity` (` (4%)`), or nothing when either is not a quantity. */
export function share(used: string | undefined, capacity: string | undefined): string {
  const u = parseQuantity(used);
  const c = parseQuantity(capacity);
  return u === undefined || !c ? '' : ` (${Math.round((u / c) * 100)}%)`;
}
