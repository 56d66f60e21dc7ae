import { setMaxListeners } from 'node:events';
import { AbortedError, isAbortedError, StepError, throwIfAborted } from '../errors.js';
import type { Logger } from '../contracts/context.js';

/** Progress events. The library is silent unless given a listener; the CLI renders these. */
export type ProgressEvent =
  | { type: 'step-start'; step: string; title: string; at: number }
  | { type: 'step-end'; step: string; title: string; ok: boolean; durationMs: number; error?: string }
  | { type: 'log'; step: string | undefined; level: 'info' | 'debug' | 'warn'; message: string }
  | { type: 'rollback'; step: string; action: string; ok: boolean; error?: string };

export type ProgressListener = (event: ProgressEvent) => void;

/** What a step gets besides the shared context. */
export interface StepRuntime {
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Registers an undo action, run in reverse order if a later step fails. */
  onRollback(action: string, undo: () => Promise<void>): void;
}

/** A named step; each lives in a file of its own. */
export interface Step<C> {
  name: string;
  title: string;
  /** Skip the step for this context (no events, no timing). */
  skip?(ctx: C): boolean;
  run(ctx: C, rt: StepRuntime): Promise<void>;
}

export interface RunStepsOptions {
  signal?: AbortSignal;
  onEvent?: ProgressListener;
  /** Keep what failed runs created (for debugging). */
  retain?: boolean;
  /** Called after a step fails, before rollback: keep its logs. Returns the directory. */
  collectLogs?: (step: string, error: unknown) => Promise<string | undefined>;
}

export interface StepTiming {
  step: string;
  durationMs: number;
}

export function makeLogger(onEvent: ProgressListener | undefined, step: () => string | undefined): Logger {
  const emit = (level: 'info' | 'debug' | 'warn') => (message: string) =>
    onEvent?.({ type: 'log', step: step(), level, message });
  return { info: emit('info'), debug: emit('debug'), warn: emit('warn') };
}

/**
 * Runs steps in order with start/end events and durations. On failure or
 * cancellation, runs the registered rollbacks in reverse (unless `retain`) and
 * throws a StepError (or AbortedError) naming the step.
 */
export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, options: RunStepsOptions = {}): Promise<StepTiming[]> {
  // the steps' own signal, following the caller's: dozens of calls listen on it at once (engine
  // requests and exec streams on every node), more than Node's default of 10 before it warns
  const signal = options.signal ? AbortSignal.any([options.signal]) : new AbortController().signal;
  setMaxListeners(200, signal);
  const rollbacks: { step: string; action: string; undo: () => Promise<void> }[] = [];
  const timings: StepTiming[] = [];
  let current: string | undefined;
  const logger = makeLogger(options.onEvent, () => current);

  for (const step of steps) {
    current = step.name;
    const started = performance.now();
    try {
      throwIfAborted(signal, 'run');
      if (step.skip?.(ctx)) continue;
      options.onEvent?.({ type: 'step-start', step: step.name, title: step.title, at: Date.now() });
      await step.run(ctx, {
        signal,
        logger,
        onRollback: (action, undo) => rollbacks.push({ step: step.name, action, undo }),
      });
      throwIfAborted(signal, 'run');
    } catch (error) {
      const durationMs = performance.now() - started;
      const aborted = signal.aborted || isAbortedError(error);
      options.onEvent?.({
        type: 'step-end',
        step: step.name,
        title: step.title,
        ok: false,
        durationMs,
        error: aborted ? 'cancelled' : (error as Error).message,
      });
      let logsDir: string | undefined;
      try {
        logsDir = aborted ? undefined : await options.collectLogs?.(step.name, error);
      } catch {
        // keeping logs is best effort; the rollback must still run
      }
      if (!options.retain) await rollback(rollbacks, options.onEvent);
      if (aborted) throw isAbortedError(error) ? error : new AbortedError('run', { cause: error });
      throw new StepError(step.name, { cause: error, ...(logsDir ? { logsDir } : {}) });
    }
    const durationMs = performance.now() - started;
    timings.push({ step: step.name, durationMs });
    options.onEvent?.({ type: 'step-end', step: step.name, title: step.title, ok: true, durationMs });
  }
  return timings;
}

async function rollback(
  rollbacks: { step: string; action: string; undo: () => Promise<void> }[],
  onEvent: ProgressListener | undefined,
): Promise<void> {
  for (const { step, action, undo } of rollbacks.reverse()) {
    try {
      await undo();
      onEvent?.({ type: 'rollback', step, action, ok: true });
    } catch (e) {
      onEvent?.({ type: 'rollback', step, action, ok: false, error: (e as Error).message });
    }
  }
}
