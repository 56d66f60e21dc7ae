import { describe, expect, it } from 'vitest';
import { networkOf } from '../src/lifecycle/add-addon.js';

describe('addAddon helpers', () => {
  it('reads the node network from an interface address', () => {
    expect(networkOf('10.203.0.2/16')).toBe('10.203.0.0/16');
    expect(networkOf('172.18.5.9/24')).toBe('172.18.5.0/24');
    expect(networkOf('not an address')).toBeUndefined();
  });
});
