import { getMaxListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { runSteps, type ProgressEvent, type Step } from '../../src/engine/steps.js';
import { AbortedError, ConfigError, isAbortedError, isStepError, StepError } from '../../src/errors.js';
import { rejectionOf } from '../helpers.js';

interface Ctx {
  ran: string[];
}

const ok = (name: string, extra: Partial<Step<Ctx>> = {}): Step<Ctx> => ({
  name,
  title: `Doing ${name}`,
  run: async (ctx) => {
    ctx.ran.push(name);
  },
  ...extra,
});

const failing = (name: string, error: unknown = new Error(`${name} broke`)): Step<Ctx> => ({
  name,
  title: `Doing ${name}`,
  run: async (ctx) => {
    ctx.ran.push(name);
    throw error;
  },
});

/** A step that registers `undos` (recording into `log`) and then does `then`. */
const withUndos = (name: string, undos: string[], log: string[], then?: () => Promise<void>): Step<Ctx> => ({
  name,
  title: name,
  run: async (ctx, rt) => {
    ctx.ran.push(name);
    for (const u of undos) rt.onRollback(u, async () => void log.push(u));
    await then?.();
  },
});

/** Resolves never; rejects with the signal's reason when it aborts, as a real driver call would. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

function recorder() {
  const events: ProgressEvent[] = [];
  return { events, onEvent: (e: ProgressEvent) => void events.push(e) };
}

const brief = (e: ProgressEvent) =>
  e.type === 'step-start' || e.type === 'step-end' || e.type === 'rollback' ? `${e.type}:${e.step}` : `${e.type}`;

describe('runSteps', () => {
  it('runs steps in order with start and end events and durations', async () => {
    const ctx: Ctx = { ran: [] };
    const { events, onEvent } = recorder();
    const timings = await runSteps([ok('a'), ok('b'), ok('c')], ctx, { onEvent });
    expect(ctx.ran).toEqual(['a', 'b', 'c']);
    expect(events.map(brief)).toEqual([
      'step-start:a',
      'step-end:a',
      'step-start:b',
      'step-end:b',
      'step-start:c',
      'step-end:c',
    ]);
    for (const e of events) {
      if (e.type === 'step-start') {
        expect(e.title).toBe(`Doing ${e.step}`);
        expect(e.at).toBeGreaterThan(0);
      }
      if (e.type === 'step-end') {
        expect(e.ok).toBe(true);
        expect(e.durationMs).toBeGreaterThanOrEqual(0);
        expect(e.error).toBeUndefined();
      }
    }
    expect(timings.map((t) => t.step)).toEqual(['a', 'b', 'c']);
    for (const t of timings) expect(t.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('measures a step that takes time', async () => {
    const { events, onEvent } = recorder();
    const slow: Step<Ctx> = { name: 'slow', title: 'slow', run: () => new Promise((r) => setTimeout(r, 30)) };
    await runSteps([slow], { ran: [] }, { onEvent });
    const end = events.find((e) => e.type === 'step-end')!;
    expect(end.type === 'step-end' && end.durationMs).toBeGreaterThanOrEqual(25);
  });

  it('works without any listener or options', async () => {
    const ctx: Ctx = { ran: [] };
    await expect(runSteps([ok('a')], ctx)).resolves.toHaveLength(1);
    await expect(runSteps([], ctx)).resolves.toEqual([]);
  });

  it('skips a step for which skip() is true: not run, no events, no timing', async () => {
    const ctx: Ctx = { ran: [] };
    const { events, onEvent } = recorder();
    const skip = vi.fn((c: Ctx) => c.ran.includes('a'));
    const timings = await runSteps([ok('a'), ok('b', { skip }), ok('c')], ctx, { onEvent });
    expect(skip).toHaveBeenCalledWith(ctx);
    expect(ctx.ran).toEqual(['a', 'c']);
    expect(events.map(brief)).toEqual(['step-start:a', 'step-end:a', 'step-start:c', 'step-end:c']);
    expect(timings.map((t) => t.step)).toEqual(['a', 'c']);
  });

  it('turns logger calls into log events tagged with the current step', async () => {
    const { events, onEvent } = recorder();
    const step: Step<Ctx> = {
      name: 'talk',
      title: 'talk',
      run: async (_, rt) => {
        rt.logger.info('i');
        rt.logger.debug('d');
        rt.logger.warn('w');
      },
    };
    await runSteps([step], { ran: [] }, { onEvent });
    expect(events.filter((e) => e.type === 'log')).toEqual([
      { type: 'log', step: 'talk', level: 'info', message: 'i' },
      { type: 'log', step: 'talk', level: 'debug', message: 'd' },
      { type: 'log', step: 'talk', level: 'warn', message: 'w' },
    ]);
  });
});

describe('runSteps failure and rollback', () => {
  it('rolls back in reverse order and throws a StepError naming the step and cause', async () => {
    const log: string[] = [];
    const ctx: Ctx = { ran: [] };
    const { events, onEvent } = recorder();
    const cause = new Error('kubeadm init failed');
    const steps = [
      withUndos('network', ['remove network'], log),
      withUndos('nodes', ['remove node 1', 'remove node 2'], log),
      withUndos('init', ['reset kubeadm'], log, async () => {
        throw cause;
      }),
      ok('never'),
    ];
    const error = await rejectionOf(runSteps(steps, ctx, { onEvent }));

    expect(isStepError(error)).toBe(true);
    const stepError = error as StepError;
    expect(stepError).toBeInstanceOf(StepError);
    expect(stepError.step).toBe('init');
    expect(stepError.cause).toBe(cause);
    expect(stepError.message).toBe('Step "init" failed: kubeadm init failed');
    expect(stepError.logsDir).toBeUndefined();

    expect(ctx.ran).toEqual(['network', 'nodes', 'init']);
    expect(log).toEqual(['reset kubeadm', 'remove node 2', 'remove node 1', 'remove network']);
    expect(events.map(brief)).toEqual([
      'step-start:network',
      'step-end:network',
      'step-start:nodes',
      'step-end:nodes',
      'step-start:init',
      'step-end:init',
      'rollback:init',
      'rollback:nodes',
      'rollback:nodes',
      'rollback:network',
    ]);
    const failedEnd = events.find((e) => e.type === 'step-end' && e.step === 'init');
    expect(failedEnd).toMatchObject({ ok: false, error: 'kubeadm init failed' });
    expect((failedEnd as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
    expect(events.filter((e) => e.type === 'rollback').map((e) => (e as { action: string }).action)).toEqual([
      'reset kubeadm',
      'remove node 2',
      'remove node 1',
      'remove network',
    ]);
  });

  it('keeps rolling back when an undo fails, and reports it', async () => {
    const log: string[] = [];
    const { events, onEvent } = recorder();
    const breaking: Step<Ctx> = {
      name: 'b',
      title: 'b',
      run: async (_, rt) => {
        rt.onRollback('undo b', async () => {
          throw new Error('undo failed');
        });
      },
    };
    await rejectionOf(runSteps([withUndos('a', ['undo a'], log), breaking, failing('c')], { ran: [] }, { onEvent }));
    expect(log).toEqual(['undo a']);
    expect(events.filter((e) => e.type === 'rollback')).toEqual([
      { type: 'rollback', step: 'b', action: 'undo b', ok: false, error: 'undo failed' },
      { type: 'rollback', step: 'a', action: 'undo a', ok: true },
    ]);
  });

  it('keeps what was created when retain is set', async () => {
    const log: string[] = [];
    const { events, onEvent } = recorder();
    const error = await rejectionOf(
      runSteps([withUndos('a', ['undo a'], log), failing('b')], { ran: [] }, { onEvent, retain: true }),
    );
    expect(isStepError(error)).toBe(true);
    expect((error as StepError).step).toBe('b');
    expect(log).toEqual([]);
    expect(events.some((e) => e.type === 'rollback')).toBe(false);
  });

  it('collects logs with the step name and error before rolling back, and puts the dir in the StepError', async () => {
    const order: string[] = [];
    const cause = new Error('join failed');
    const collectLogs = vi.fn(async (step: string) => {
      order.push(`collect ${step}`);
      return `/tmp/logs/${step}`;
    });
    const steps = [withUndos('a', ['undo a'], order), failing('join', cause)];
    const error = (await rejectionOf(runSteps(steps, { ran: [] }, { collectLogs }))) as StepError;
    expect(collectLogs).toHaveBeenCalledTimes(1);
    expect(collectLogs).toHaveBeenCalledWith('join', cause);
    expect(order).toEqual(['collect join', 'undo a']);
    expect(error.logsDir).toBe('/tmp/logs/join');
    expect(error.hint).toBe('Logs are in /tmp/logs/join');
    expect(error.describe()).toContain('Logs are in /tmp/logs/join');
  });

  it('still throws the StepError when collecting logs fails', async () => {
    const collectLogs = vi.fn(async () => {
      throw new Error('disk full');
    });
    const error = (await rejectionOf(runSteps([failing('x')], { ran: [] }, { collectLogs }))) as StepError;
    expect(isStepError(error)).toBe(true);
    expect(error.logsDir).toBeUndefined();
  });

  it('carries the hint of a typed cause', async () => {
    const cause = new ConfigError('bad', { hint: 'fix the config' });
    const error = (await rejectionOf(runSteps([failing('x', cause)], { ran: [] }))) as StepError;
    expect(error.hint).toBe('fix the config');
  });

  it('describes a cause that is not an Error', async () => {
    const error = (await rejectionOf(runSteps([failing('x', 'plain string')], { ran: [] }))) as StepError;
    expect(error.message).toBe('Step "x" failed: plain string');
  });
});

describe('runSteps cancellation', () => {
  it('aborts a running step, rolls back and throws AbortedError', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const ctx: Ctx = { ran: [] };
    const { events, onEvent } = recorder();
    const collectLogs = vi.fn(async () => '/tmp/logs');
    const waiting = withUndos('wait', ['undo wait'], log, () => {
      setTimeout(() => controller.abort(new Error('Ctrl-C')), 10);
      return untilAborted(controller.signal);
    });
    const error = await rejectionOf(
      runSteps([withUndos('a', ['undo a'], log), waiting, ok('after')], ctx, {
        signal: controller.signal,
        onEvent,
        collectLogs,
      }),
    );

    expect(isAbortedError(error)).toBe(true);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).message).toBe('The run was cancelled.');
    expect(((error as AbortedError).cause as Error).message).toBe('Ctrl-C');
    expect(isStepError(error)).toBe(false);
    expect(ctx.ran).toEqual(['a', 'wait']);
    expect(log).toEqual(['undo wait', 'undo a']);
    expect(collectLogs).not.toHaveBeenCalled();
    expect(events.find((e) => e.type === 'step-end' && e.step === 'wait')).toMatchObject({ ok: false, error: 'cancelled' });
    expect(events.map(brief).slice(-2)).toEqual(['rollback:wait', 'rollback:a']);
  });

  it('runs no step when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx: Ctx = { ran: [] };
    const error = await rejectionOf(runSteps([ok('a')], ctx, { signal: controller.signal }));
    expect(isAbortedError(error)).toBe(true);
    expect(ctx.ran).toEqual([]);
  });

  it('stops after a step that ignored the abort and finished', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const ctx: Ctx = { ran: [] };
    const deaf = withUndos('deaf', ['undo deaf'], log, async () => controller.abort());
    const error = await rejectionOf(runSteps([deaf, ok('after')], ctx, { signal: controller.signal }));
    expect(isAbortedError(error)).toBe(true);
    expect(ctx.ran).toEqual(['deaf']);
    expect(log).toEqual(['undo deaf']);
  });

  it('passes an AbortedError thrown by a step through unchanged', async () => {
    const inner = new AbortedError('image build');
    const error = await rejectionOf(runSteps([failing('x', inner)], { ran: [] }));
    expect(error).toBe(inner);
  });

  it('keeps what was created on abort when retain is set', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const step = withUndos('w', ['undo w'], log, async () => {
      controller.abort();
      await untilAborted(controller.signal);
    });
    const error = await rejectionOf(runSteps([step], { ran: [] }, { signal: controller.signal, retain: true }));
    expect(isAbortedError(error)).toBe(true);
    expect(log).toEqual([]);
  });
});

describe('runSteps robustness', () => {
  // BUG (src/engine/steps.ts): `options.collectLogs?.(...).catch(...)` only catches rejections;
  // a collectLogs that throws synchronously escapes, and the rollback never runs.
  it('rolls back even when collectLogs throws synchronously', async () => {
    const log: string[] = [];
    const collectLogs = (): Promise<string | undefined> => {
      throw new Error('cannot create the logs dir');
    };
    const error = await rejectionOf(runSteps([withUndos('a', ['undo a'], log), failing('b')], { ran: [] }, { collectLogs }));
    expect(log).toEqual(['undo a']);
    expect(isStepError(error)).toBe(true);
    expect((error as StepError).step).toBe('b');
  });

  // BUG (src/engine/steps.ts): `step.skip?.(ctx)` runs outside the try block, so a skip() that
  // throws leaves what earlier steps created behind and surfaces as a bare Error.
  it('rolls back earlier steps when a skip() throws', async () => {
    const log: string[] = [];
    const broken = ok('b', {
      skip: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'numNodes')");
      },
    });
    const error = await rejectionOf(runSteps([withUndos('a', ['undo a'], log), broken], { ran: [] }));
    expect(log).toEqual(['undo a']);
    expect(isStepError(error)).toBe(true);
    expect((error as StepError).step).toBe('b');
  });
});

describe('runSteps signal', () => {
  it('gives steps a signal that takes dozens of listeners at once (parallel calls on every node) and follows the caller', async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const step: Step<object> = { name: 'parallel', title: 'Parallel', run: async (_ctx, rt) => void (seen = rt.signal) };
    await runSteps([step], {}, { signal: caller.signal });
    // Node warns (MaxListenersExceededWarning) past this many listeners; its default is 10
    expect(getMaxListeners(seen!)).toBeGreaterThanOrEqual(100);
    // the caller's own signal is left as it was
    expect(getMaxListeners(caller.signal)).toBe(getMaxListeners(new AbortController().signal));
    caller.abort(new Error('stop'));
    expect(seen!.aborted).toBe(true);
  });
});
