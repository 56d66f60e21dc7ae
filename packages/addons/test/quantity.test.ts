import { describe, expect, it } from 'vitest';
import { cpu, memory, parseQuantity, share } from '../src/dashboard/quantity.js';

// The dashboard's Usage column: metrics-server's raw quantities as `kubectl top` prints them.
describe('dashboard quantities', () => {
  it('reads every suffix Kubernetes writes', () => {
    expect(parseQuantity('84410475n')).toBeCloseTo(0.084410475);
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('568784Ki')).toBe(568784 * 1024);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('12 bananas')).toBeUndefined();
    expect(parseQuantity(undefined)).toBeUndefined();
  });

  it('prints CPU in millicores and memory in binary units, with a share of capacity', () => {
    expect(cpu('84410475n')).toBe('84m');
    expect(memory('568784Ki')).toBe('555 MiB');
    expect(memory('24684084Ki')).toBe('23.5 GiB');
    expect(share('84410475n', '2')).toBe(' (4%)');
    expect(share('568784Ki', '24684084Ki')).toBe(' (2%)');
    expect(share('1', undefined)).toBe('');
    expect(cpu('lots')).toBe('lots');
  });
});
