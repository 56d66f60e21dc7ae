import { setMaxListeners } from 'node:events';

/**
 * An AbortSignal fired by the first Ctrl-C (or SIGTERM), so long operations can
 * roll back what they created; a second Ctrl-C exits at once.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  // every parallel call of a command listens on it (engine requests and exec streams on every node)
  setMaxListeners(200, controller.signal);
  let count = 0;
  const onSignal = (name: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(130);
    process.stderr.write(`\n${name}: cancelling and cleaning up (press Ctrl-C again to exit at once)\n`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
