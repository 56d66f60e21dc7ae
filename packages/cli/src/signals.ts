/**
 * An AbortSignal fired by the first Ctrl-C (or SIGTERM), so long operations can
 * roll back what they created; a second Ctrl-C exits at once.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
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
