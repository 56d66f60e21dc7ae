import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallOptions, NodeHandle } from '../contracts/driver.js';
import { extractTar } from '../nodeutil.js';

/** The cluster's own kubectl, copied out of its control plane once per version (the Kubectl tests and `dashboard` run it). */
export async function hostKubectl(node: NodeHandle, dir: string, options: CallOptions): Promise<string> {
  const path = join(dir, 'kubectl');
  if (existsSync(path)) return path;
  await mkdir(dir, { recursive: true });
  const inNode = (await node.exec(['sh', '-c', 'command -v kubectl'], options)).stdout.trim();
  const tar = await node.copyOut(inNode, options);
  const tmp = join(dir, `.extract-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  try {
    await extractTar(tar, tmp);
    await copyFile(join(tmp, 'kubectl'), `${path}.tmp`);
    await chmod(`${path}.tmp`, 0o755);
    await rename(`${path}.tmp`, path);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return path;
}
