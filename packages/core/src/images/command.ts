import { spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { AbortedError } from '../errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  /** The last lines of stderr (and stdout), for error messages. */
  tail: string;
}

/**
 * Runs a host command for an image build: output goes to the build log (and
 * stdout is returned), Ctrl-C kills the whole process group.
 */
export async function runCommand(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; log: WriteStream; signal: AbortSignal; stdin?: 'ignore' },
): Promise<CommandResult> {
  if (options.signal.aborted) throw new AbortedError('image build');
  options.log.write(`+ ${argv.join(' ')}${options.cwd ? `   (in ${options.cwd})` : ''}\n`);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const onAbort = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  const out: Buffer[] = [];
  const recent: string[] = [];
  const keep = (chunk: Buffer) => {
    recent.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (recent.length > 40) recent.splice(0, recent.length - 40);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk);
    options.log.write(chunk);
    keep(chunk);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    options.log.write(chunk);
    keep(chunk);
  });
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    });
    if (options.signal.aborted) throw new AbortedError('image build');
    return { code, stdout: Buffer.concat(out).toString('utf8'), tail: recent.slice(-12).join('\n') };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}
