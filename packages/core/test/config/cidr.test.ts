import { describe, expect, it } from 'vitest';
import { cidrsOverlap, isNetworkAddress, parseCidr } from '../../src/config/schema.js';

describe('parseCidr', () => {
  it('parses IPv4 CIDRs', () => {
    expect(parseCidr('10.192.0.0/16')).toEqual({ address: '10.192.0.0', prefix: 16 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ address: '0.0.0.0', prefix: 0 });
    expect(parseCidr('255.255.255.255/32')).toEqual({ address: '255.255.255.255', prefix: 32 });
    expect(parseCidr('10.0.0.0/08')).toEqual({ address: '10.0.0.0', prefix: 8 });
  });

  it('rejects what is not an IPv4 CIDR', () => {
    for (const value of [
      '',
      '10.0.0.0',
      '10.0.0.0/',
      '/16',
      '10.0.0/16',
      '10.0.0.0.0/16',
      '256.0.0.0/16',
      '010.0.0.0/16',
      '10.0.0.0/33',
      '10.0.0.0/100',
      '10.0.0.0/-1',
      ' 10.0.0.0/16',
      '10.0.0.0/16 ',
      'fd00::/64',
      'a.b.c.d/16',
    ]) {
      expect(parseCidr(value), JSON.stringify(value)).toBeUndefined();
    }
  });
});

describe('isNetworkAddress', () => {
  const net = (v: string) => isNetworkAddress(parseCidr(v)!);

  it('accepts network addresses', () => {
    expect(net('10.192.0.0/16')).toBe(true);
    expect(net('0.0.0.0/0')).toBe(true);
    expect(net('10.0.0.7/32')).toBe(true);
    expect(net('10.0.0.128/25')).toBe(true);
    expect(net('255.255.255.254/31')).toBe(true);
    expect(net('128.0.0.0/1')).toBe(true);
  });

  it('rejects addresses with host bits set', () => {
    expect(net('10.192.3.0/16')).toBe(false);
    expect(net('10.0.0.1/31')).toBe(false);
    expect(net('1.0.0.0/0')).toBe(false);
    expect(net('10.0.0.64/25')).toBe(false);
    expect(net('255.255.255.255/1')).toBe(false);
  });
});

describe('cidrsOverlap', () => {
  it('detects identical, nested and partially shared ranges either way round', () => {
    expect(cidrsOverlap('10.0.0.0/16', '10.0.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/8', '10.5.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.5.0.0/16', '10.0.0.0/8')).toBe(true);
    expect(cidrsOverlap('0.0.0.0/0', '192.168.1.0/24')).toBe(true);
    expect(cidrsOverlap('192.168.1.0/24', '0.0.0.0/0')).toBe(true);
    expect(cidrsOverlap('10.0.0.1/32', '10.0.0.0/24')).toBe(true);
  });

  it('finds no overlap between adjacent or distant ranges', () => {
    expect(cidrsOverlap('10.0.0.0/16', '10.1.0.0/16')).toBe(false);
    expect(cidrsOverlap('10.1.0.0/16', '10.0.0.0/16')).toBe(false);
    expect(cidrsOverlap('10.0.0.0/25', '10.0.0.128/25')).toBe(false);
    expect(cidrsOverlap('10.192.0.0/16', '10.244.0.0/16')).toBe(false);
    expect(cidrsOverlap('10.0.0.1/32', '10.0.0.2/32')).toBe(false);
  });

  it('compares by range even when an address has host bits set', () => {
    expect(cidrsOverlap('10.0.5.0/16', '10.0.200.0/24')).toBe(true);
    expect(cidrsOverlap('10.0.200.0/24', '10.0.5.0/16')).toBe(true);
  });

  it('is false when either side is not a CIDR', () => {
    expect(cidrsOverlap('nope', '10.0.0.0/8')).toBe(false);
    expect(cidrsOverlap('10.0.0.0/8', '10.0.0.0')).toBe(false);
    expect(cidrsOverlap('', '')).toBe(false);
  });
});
