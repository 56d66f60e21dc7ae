/**
 * Typed errors. Every failure a user can cause or meet has its own class with
 * structured fields, a `hint` that says how to fix it, and an `isXError()`
 * guard that also matches by `name`, so it works across two copies of core in
 * node_modules (instanceof would not).
 */

export interface ErrorOptions {
  cause?: unknown;
  hint?: string;
}

export class LocalClusterError extends Error {
  override name = 'LocalClusterError';
  readonly hint: string | undefined;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }

  /** The one-paragraph text the CLI prints. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

function guard<T extends LocalClusterError>(name: string) {
  return (e: unknown): e is T =>
    typeof e === 'object' && e !== null && (e as { name?: unknown }).name === name;
}

/** Where a config value came from. */
export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string; line?: number; column?: number }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string }
  | { kind: 'library' };

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'the default';
    case 'file':
      return `file ${source.path}${source.line !== undefined ? `:${source.line}${source.column !== undefined ? `:${source.column}` : ''}` : ''}`;
    case 'env':
      return `environment variable ${source.name}`;
    case 'flag':
      return `flag --${source.name}`;
    case 'library':
      return 'options passed to the library';
  }
}

export class ConfigError extends LocalClusterError {
  override name = 'ConfigError';
  /** Dotted setting path, e.g. `cluster.numNodes`; undefined for whole-file problems. */
  readonly setting: string | undefined;
  readonly source: ConfigSource | undefined;

  constructor(
    message: string,
    fields: { setting?: string; source?: ConfigSource } & ErrorOptions = {},
  ) {
    super(message, fields);
    this.setting = fields.setting;
    this.source = fields.source;
  }
}
export const isConfigError = guard<ConfigError>('ConfigError');

export class PluginError extends LocalClusterError {
  override name = 'PluginError';
  /** What the user wrote (a built-in name, a path or a package name). */
  readonly spec: string;
  /** What was tried, for the message. */
  readonly tried: string[];
  readonly setting: string | undefined;

  constructor(
    message: string,
    fields: { spec: string; tried?: string[]; setting?: string } & ErrorOptions,
  ) {
    super(message, fields);
    this.spec = fields.spec;
    this.tried = fields.tried ?? [];
    this.setting = fields.setting;
  }
}
export const isPluginError = guard<PluginError>('PluginError');

export class EngineUnreachableError extends LocalClusterError {
  override name = 'EngineUnreachableError';
  readonly endpoint: string;
  /** Where the endpoint was configured: DOCKER_HOST, `Docker context "x" (DOCKER_CONTEXT)`, ... */
  readonly origin: string | undefined;
  /** What failed: connection refused, no such socket, no answer within 20 s, ... */
  readonly reason: string | undefined;

  /**
   * `reason`: what failed (connection refused, ...); `origin`: where the endpoint was set;
   * `fix`: how to point elsewhere; `untouched`: the engine was never reached in this run, so
   * nothing was changed (the first contact failed).
   */
  constructor(endpoint: string, options: ErrorOptions & { reason?: string; origin?: string; fix?: string; untouched?: boolean } = {}) {
    const configured = options.origin !== undefined && options.origin !== 'the default socket';
    const where = configured ? `${endpoint} (from ${options.origin})` : endpoint;
    const what = options.reason ? `: ${options.reason}.` : '.';
    super(`The container engine is not reachable at ${where}${what} Start it or ${configured && options.fix ? options.fix : 'set DOCKER_HOST'}${options.untouched ? '; nothing was changed' : ''}.`, {
      hint: configured
        ? `Check that the engine at ${endpoint} runs and listens there (docker -H ${endpoint} version).`
        : 'On these machines `bash scripts/ensure-docker.sh` installs and starts one.',
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
      ...(options.hint !== undefined ? { hint: options.hint } : {}),
    });
    this.endpoint = endpoint;
    this.origin = options.origin;
    this.reason = options.reason;
  }
}
export const isEngineUnreachableError = guard<EngineUnreachableError>('EngineUnreachableError');

export class DriverError extends LocalClusterError {
  override name = 'DriverError';
  readonly operation: string;
  readonly statusCode: number | undefined;

  constructor(
    operation: string,
    message: string,
    fields: { statusCode?: number } & ErrorOptions = {},
  ) {
    super(`${operation}: ${message}`, fields);
    this.operation = operation;
    this.statusCode = fields.statusCode;
  }
}
export const isDriverError = guard<DriverError>('DriverError');

export class ExecError extends LocalClusterError {
  override name = 'ExecError';
  readonly node: string;
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(fields: {
    node: string;
    argv: readonly string[];
    exitCode: number;
    stdout: string;
    stderr: string;
  }) {
    const tail = (fields.stderr || fields.stdout).trim().split('\n').slice(-5).join('\n');
    super(
      `\`${fields.argv.join(' ')}\` on node ${fields.node} exited with code ${fields.exitCode}${tail ? `:\n${tail}` : ''}`,
    );
    this.node = fields.node;
    this.argv = fields.argv;
    this.exitCode = fields.exitCode;
    this.stdout = fields.stdout;
    this.stderr = fields.stderr;
  }
}
export const isExecError = guard<ExecError>('ExecError');

export class PreflightError extends LocalClusterError {
  override name = 'PreflightError';
  readonly check: string;

  constructor(check: string, message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.check = check;
  }
}
export const isPreflightError = guard<PreflightError>('PreflightError');

export class StepError extends LocalClusterError {
  override name = 'StepError';
  readonly step: string;
  /** Directory holding the failing step's output and node logs, if kept. */
  readonly logsDir: string | undefined;

  constructor(step: string, fields: { logsDir?: string } & ErrorOptions) {
    const inner = fields.cause instanceof Error ? fields.cause.message : String(fields.cause);
    super(`Step "${step}" failed: ${inner}`, {
      ...fields,
      hint:
        [fields.hint ?? (isLocalClusterError(fields.cause) ? fields.cause.hint : undefined), fields.logsDir ? `Logs are in ${fields.logsDir}` : undefined]
          .filter(Boolean)
          .join('\n') || undefined,
    });
    this.step = step;
    this.logsDir = fields.logsDir;
  }
}
export const isStepError = guard<StepError>('StepError');

export class ImageBuildError extends LocalClusterError {
  override name = 'ImageBuildError';
  /** The image reference being built. */
  readonly image: string;
  /** Who needs it, e.g. `CNI plugin "flannel"`. */
  readonly neededBy: string | undefined;
  /** The build log. */
  readonly logPath: string | undefined;

  constructor(image: string, message: string, fields: { neededBy?: string; logPath?: string } & ErrorOptions = {}) {
    super(`Building image ${image}${fields.neededBy ? ` (for ${fields.neededBy})` : ''} failed: ${message}`, {
      ...fields,
      hint: [fields.hint, fields.logPath ? `Build log: ${fields.logPath}` : undefined].filter(Boolean).join('\n') || undefined,
    });
    this.image = image;
    this.neededBy = fields.neededBy;
    this.logPath = fields.logPath;
  }
}
export const isImageBuildError = guard<ImageBuildError>('ImageBuildError');

export class AbortedError extends LocalClusterError {
  override name = 'AbortedError';
  constructor(what = 'operation', options: ErrorOptions = {}) {
    super(`The ${what} was cancelled.`, options);
  }
}
export const isAbortedError = guard<AbortedError>('AbortedError');

const ownNames = new Set([
  'LocalClusterError',
  'ConfigError',
  'PluginError',
  'EngineUnreachableError',
  'DriverError',
  'ExecError',
  'PreflightError',
  'StepError',
  'AbortedError',
  'ImageBuildError',
]);

export function isLocalClusterError(e: unknown): e is LocalClusterError {
  return (
    typeof e === 'object' &&
    e !== null &&
    ownNames.has(String((e as { name?: unknown }).name)) &&
    typeof (e as { describe?: unknown }).describe === 'function'
  );
}

/** Throws an AbortedError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new AbortedError(what, { cause: signal.reason });
}
