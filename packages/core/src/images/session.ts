import type { WriteStream } from 'node:fs';
import type { Logger } from '../contracts/context.js';
import { ImageBuildError } from '../errors.js';

/** One image's build: where it logs, how it reports, how it fails. */
export class BuildSession {
  private readonly started = performance.now();

  constructor(
    readonly ref: string,
    readonly cacheDir: string,
    readonly log: WriteStream,
    readonly logPath: string,
    readonly logger: Logger,
    readonly signal: AbortSignal,
    readonly neededBy: string | undefined,
    readonly go: string | undefined,
  ) {}

  /** A progress line, prefixed with the image and the time since its build started. */
  step(message: string): void {
    const line = `${this.ref}: ${message} [${((performance.now() - this.started) / 1000).toFixed(1)}s]`;
    this.log.write(`== ${line}\n`);
    this.logger.info(line);
  }

  fail(message: string, options: { hint?: string; cause?: unknown } = {}): never {
    this.log.write(`!! ${message}\n`);
    throw new ImageBuildError(this.ref, message, { ...options, logPath: this.logPath, ...(this.neededBy ? { neededBy: this.neededBy } : {}) });
  }
}
