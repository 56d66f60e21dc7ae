import { describe, expect, it } from 'vitest';
import { chooseSecurityMode, privilegedAccepted } from '../../src/info.js';

describe('privilegedAccepted', () => {
  it('reads a refused capability set as "no"', () => {
    expect(
      privilegedAccepted(
        '(HTTP code 500) server error - failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown',
      ),
    ).toBe(false);
  });

  it('reads a start that got as far as the (missing) probe command as "yes"', () => {
    expect(privilegedAccepted('unable to start container process: exec: "/local-cluster-privileged-probe": stat /local-cluster-privileged-probe: no such file or directory: unknown')).toBe(true);
    expect(privilegedAccepted(undefined)).toBe(true);
  });

  it('reads anything unexpected as "no", the mode that works in more places', () => {
    expect(privilegedAccepted('something else went wrong')).toBe(false);
  });
});

describe('chooseSecurityMode', () => {
  it('gives nodes the capability set unless told "always", whatever the engine allows', () => {
    expect(chooseSecurityMode('auto')).toBe('capabilities');
    expect(chooseSecurityMode('always')).toBe('privileged');
    expect(chooseSecurityMode('never')).toBe('capabilities');
  });
});
