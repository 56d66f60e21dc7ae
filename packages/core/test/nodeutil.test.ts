import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from '../src/nodeutil.js';

describe('sleep', () => {
  it('leaves no abort listener behind when it ends normally', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the reason when aborted, before or during the wait', async () => {
    const before = new AbortController();
    before.abort(new Error('stopped before'));
    await expect(sleep(10_000, before.signal)).rejects.toThrow('stopped before');
    const during = new AbortController();
    const pending = sleep(10_000, during.signal);
    during.abort(new Error('stopped during'));
    await expect(pending).rejects.toThrow('stopped during');
  });
});
