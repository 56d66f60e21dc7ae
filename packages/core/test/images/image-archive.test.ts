import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { imageArchive, KEPT_ARCHIVES } from '../../src/images/factory.js';
import type { Driver } from '../../src/contracts/driver.js';

/** A driver whose engine holds images of the given IDs, counting `docker save` calls. */
function engine(ids: Record<string, string>) {
  const saves: string[][] = [];
  const driver = {
    images: {
      inspect: async (ref: string) => (ids[ref] ? { id: ids[ref], tags: [ref], labels: {} } : undefined),
      save: async (refs: string[]) => {
        saves.push(refs);
        return Readable.from([`archive of ${refs.join(' ')}`]);
      },
    },
  } as unknown as Driver;
  return { driver, saves };
}

describe('imageArchive: the `docker save` archive an `up` streams into the nodes', () => {
  const signal = new AbortController().signal;

  it('is saved once per set of engine image IDs and reused by the next load', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'lc-archive-'));
    const { driver, saves } = engine({ 'a:1': 'sha256:aaa', 'b:1': 'sha256:bbb' });
    const first = await imageArchive(driver, ['a:1', 'b:1'], { cacheDir, signal });
    const again = await imageArchive(driver, ['b:1', 'a:1'], { cacheDir, signal });
    expect(first.saved).toBe(true);
    expect(again).toEqual({ archive: first.archive, saved: false });
    expect(saves).toHaveLength(1);
    // no partial file left behind
    expect(readdirSync(join(cacheDir, 'archives'))).toEqual([first.archive.split('/').pop()]);
  });

  it('a rebuilt image (another ID) gets a new archive; the oldest beyond the kept number are removed', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'lc-archive-'));
    const archives: string[] = [];
    for (let i = 0; i < KEPT_ARCHIVES + 2; i++) {
      const { driver } = engine({ 'a:1': `sha256:${i}` });
      const { archive, saved } = await imageArchive(driver, ['a:1'], { cacheDir, signal });
      expect(saved).toBe(true);
      archives.push(archive.split('/').pop()!);
      await new Promise((r) => setTimeout(r, 15)); // distinct modification times
    }
    expect(readdirSync(join(cacheDir, 'archives')).sort()).toEqual(archives.slice(-KEPT_ARCHIVES).sort());
  });

  it('an image the engine lacks is named', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'lc-archive-'));
    const { driver } = engine({});
    await expect(imageArchive(driver, ['missing:1'], { cacheDir, signal })).rejects.toThrow('image missing:1 is not in the engine');
  });
});
