import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySourceChanges, sourceTreeKey } from '../../src/images/go.js';
import { recipeProblems } from '../../src/images/recipe.js';

const session = () => {
  const log: string[] = [];
  return {
    log: { write: (s: string) => void log.push(s) } as unknown as NodeJS.WritableStream,
    fail: (message: string, options: { hint?: string } = {}): never => {
      throw new Error(`${message} | ${options.hint ?? ''}`);
    },
    lines: log,
  };
};
const tree = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc-src-'));
  mkdirSync(join(dir, 'pkg'), { recursive: true });
  writeFileSync(join(dir, 'pkg', 'a.go'), 'package pkg\n\nimport "example.com/big/dns"\n');
  return dir;
};
const bin = { module: 'example.com/m', version: 'v1.0.0', binary: 'm' };

describe('GoBinary sourceFiles and sourceEdits', () => {
  it('writes new files and replaces literal text', async () => {
    const dir = tree();
    await applySourceChanges(session() as never, dir, {
      ...bin,
      sourceFiles: [{ path: 'nested/ext/go.mod', content: 'module example.com/ext\n' }],
      sourceEdits: [{ file: 'pkg/a.go', from: '"example.com/big/dns"', to: 'dns "example.com/m/stub"' }],
    });
    expect(readFileSync(join(dir, 'nested/ext/go.mod'), 'utf8')).toBe('module example.com/ext\n');
    expect(readFileSync(join(dir, 'pkg/a.go'), 'utf8')).toContain('import dns "example.com/m/stub"');
  });

  it('fails naming the edit when its text is gone (a new module version), and refuses to overwrite a file', async () => {
    await expect(applySourceChanges(session() as never, tree(), { ...bin, sourceEdits: [{ file: 'pkg/a.go', from: 'not there', to: 'x' }] })).rejects.toThrow('example.com/m@v1.0.0: pkg/a.go does not contain "not there" (sourceEdits)');
    await expect(applySourceChanges(session() as never, tree(), { ...bin, sourceEdits: [{ file: 'pkg/b.go', from: 'x', to: 'y' }] })).rejects.toThrow('has no file pkg/b.go');
    await expect(applySourceChanges(session() as never, tree(), { ...bin, sourceFiles: [{ path: 'pkg/a.go', content: '' }] })).rejects.toThrow('already has pkg/a.go');
  });

  it('are part of the recipe: checked, and in the source tree key', () => {
    expect(recipeProblems({ go: [{ ...bin, sourceFiles: [{ path: '../escape', content: '' }] }] })[0]).toMatch(/relative to the module root/);
    expect(recipeProblems({ go: [{ ...bin, sourceFiles: [{ path: '/abs', content: '' }] }] })[0]).toMatch(/relative to the module root/);
    expect(recipeProblems({ go: [{ ...bin, sourceEdits: [{ file: 'a.go', from: 'x', to: 'y' }] }] })).toEqual([]);
    expect(sourceTreeKey({ ...bin, sourceEdits: [{ file: 'a.go', from: 'x', to: 'y' }] })).not.toBe(sourceTreeKey(bin));
  });
});
