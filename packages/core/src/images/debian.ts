import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';
import { DEBIAN_SKIP, parseDependsClosure } from './layout.js';
import type { BuildSession } from './session.js';

/**
 * The packages to unpack for `requested`: they and their run-time dependency
 * closure, minus package-management plumbing. Read from the machine's apt
 * configuration (its mirror, its lists).
 */
export async function debianClosure(session: BuildSession, requested: readonly string[], arch: string): Promise<string[]> {
  const argv = ['apt-cache', 'depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...requested];
  let result = await runCommand(argv, { log: session.log, signal: session.signal });
  if (result.code !== 0 && /Unable to locate|No packages found/i.test(result.tail) && process.getuid?.() === 0) {
    session.step('apt lists are missing packages: apt-get update');
    await runCommand(['apt-get', 'update', '-qq'], { log: session.log, signal: session.signal });
    result = await runCommand(argv, { log: session.log, signal: session.signal });
  }
  if (result.code !== 0) {
    session.fail(`apt-cache could not resolve the Debian packages ${requested.join(' ')}:\n${result.tail}`, {
      hint: 'Check the package names (debianPackages) and the machine\'s apt sources (apt-get update).',
    });
  }
  const closure = parseDependsClosure(result.stdout, arch).filter((p) => requested.includes(p) || !DEBIAN_SKIP.has(p));
  for (const p of requested) if (!closure.includes(p)) session.fail(`Debian package "${p}" is not known to apt`, { hint: 'Check debianPackages.' });
  return closure;
}

/** Downloads the packages' .deb files into the shared cache (what is there already is kept); returns their paths. */
export async function downloadDebs(session: BuildSession, packages: readonly string[]): Promise<string[]> {
  const dir = join(session.cacheDir, 'debs');
  await mkdir(dir, { recursive: true });
  // in an empty directory: apt prints nothing for a .deb already in its working directory
  const tmp = join(dir, `.download.${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const uris = await runCommand(['apt-get', 'download', '--print-uris', ...packages], { log: session.log, signal: session.signal, cwd: tmp });
  if (uris.code !== 0) session.fail(`apt-get could not find ${packages.join(' ')}:\n${uris.tail}`, { hint: 'Run apt-get update, or check debianPackages.' });
  const files = uris.stdout
    .split('\n')
    .map((line) => /^'[^']+'\s+(\S+\.deb)\s/.exec(line)?.[1])
    .filter((f): f is string => Boolean(f))
    .map((f) => decodeURIComponent(f));
  const missing = packages.filter((p) => !files.some((f) => f.startsWith(`${p}_`)));
  if (missing.length) {
    await rm(tmp, { recursive: true, force: true });
    session.fail(`apt-get gave no download for ${missing.join(', ')}`, { hint: 'Check debianPackages and the machine\'s apt sources.' });
  }
  const needed = files.filter((f) => !existsSync(join(dir, f)));
  if (needed.length > 0) {
    session.step(`downloading ${needed.length} Debian package(s) with the machine's apt sources`);
    const names = needed.map((f) => f.split('_')[0]!);
    const got = await runCommand(['apt-get', 'download', ...names], { log: session.log, signal: session.signal, cwd: tmp });
    if (got.code !== 0) {
      await rm(tmp, { recursive: true, force: true });
      session.fail(`apt-get download failed:\n${got.tail}`, { hint: 'Check the machine\'s apt sources (the Debian mirror) and network.' });
    }
    for (const f of await readdir(tmp)) await rename(join(tmp, f), join(dir, decodeURIComponent(f)));
  }
  await rm(tmp, { recursive: true, force: true });
  return files.map((f) => join(dir, f));
}

/** Unpacks .deb files into an image root with merged /usr kept (bin -> usr/bin, ...). */
export async function unpackDebs(session: BuildSession, debs: readonly string[], root: string): Promise<void> {
  for (const deb of debs) {
    const r = await runCommand(['sh', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x --keep-directory-symlink --no-same-owner -C "$2"', 'sh', deb, root], {
      log: session.log,
      signal: session.signal,
    });
    if (r.code !== 0) session.fail(`unpacking ${deb} failed:\n${r.tail}`);
  }
}
