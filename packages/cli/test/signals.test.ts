import { getMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { interruptSignal } from '../src/signals.js';

describe('interruptSignal', () => {
  it('takes the listeners of a command\'s parallel calls on every node without a MaxListenersExceededWarning', () => {
    const interrupt = interruptSignal();
    try {
      expect(getMaxListeners(interrupt.signal)).toBeGreaterThanOrEqual(100);
      expect(interrupt.signal.aborted).toBe(false);
    } finally {
      interrupt.dispose();
    }
  });
});
