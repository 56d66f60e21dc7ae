import { describe, expect, it } from 'vitest';
import { e2eDefaultLabelFilter } from '../../src/conformance/run.js';

describe("e2e's default label filter", () => {
  it('is the Conformance tests, parallel or serial, on a single-family cluster', () => {
    expect(e2eDefaultLabelFilter({ dual: false, sctp: false, serial: false })).toBe('Conformance && !Serial');
    expect(e2eDefaultLabelFilter({ dual: false, sctp: true, serial: true })).toBe('Conformance && Serial');
  });

  it('adds the dual-stack tests on a dual-stack cluster, without the SCTP ones where the kernel has no SCTP', () => {
    expect(e2eDefaultLabelFilter({ dual: true, sctp: true, serial: false })).toBe('(Conformance || /^Feature:IPv6DualStack$/) && !Serial');
    expect(e2eDefaultLabelFilter({ dual: true, sctp: false, serial: false })).toBe('(Conformance || (/^Feature:IPv6DualStack$/ && !/^Feature:SCTPConnectivity$/)) && !Serial');
  });
});
