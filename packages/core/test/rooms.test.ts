import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The lint rule that keeps the monorepo's rooms apart (eslint.config.mjs), run on wrong-way and
// right-way imports as if they were files of the packages.
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function roomErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the rooms lint rule', () => {
  it('fails core importing the verification package, or any other package of the project', async () => {
    expect(await roomErrors('packages/core/src/lifecycle/wrong-way.ts', "import { runE2e } from '@local-cluster/verify';\nexport const x = runE2e;\n")).toEqual([
      expect.stringContaining('Core imports no other package of the project'),
    ]);
    expect(await roomErrors('packages/core/src/lifecycle/wrong-way.ts', "import { bridge } from '@local-cluster/cni-bridge';\nexport const x = bridge;\n")).toHaveLength(1);
    expect(await roomErrors('packages/core/src/lifecycle/right-way.ts', "import { join } from 'node:path';\nimport { up } from './up.js';\nexport const x = [join, up];\n")).toEqual([]);
  });

  it('fails a plugin package importing anything of the project but core', async () => {
    expect(await roomErrors('packages/cni-flannel/src/wrong-way.ts', "import { runNetcheck } from '@local-cluster/verify';\nexport const x = runNetcheck;\n")).toEqual([
      expect.stringContaining('depends on @local-cluster/core only'),
    ]);
    expect(await roomErrors('packages/cni-flannel/src/right-way.ts', "import { LABELS } from '@local-cluster/core';\nimport { checkAddon } from '@local-cluster/core/testing';\nexport const x = [LABELS, checkAddon];\n")).toEqual([]);
  });

  it("fails a verification feature folder reaching into another's files instead of its index", async () => {
    expect(await roomErrors('packages/verify/src/netcheck/wrong-way.ts', "import { releaseTestImages } from '../conformance/images.js';\nexport const x = releaseTestImages;\n")).toEqual([
      expect.stringContaining('only through its index.js'),
    ]);
    expect(await roomErrors('packages/verify/src/netcheck/right-way.ts', "import { releaseTestImages } from '../conformance/index.js';\nimport { NETCHECK_CASES } from './cases.js';\nexport const x = [releaseTestImages, NETCHECK_CASES];\n")).toEqual([]);
  });
});
