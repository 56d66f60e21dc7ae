import { describe, expect, it } from 'vitest';
import { checkCniPlugin, testCniPlugin } from '@local-cluster/core/testing';
import { recipeProblems } from '@local-cluster/core';
import ptp, { images, IMAGE } from '../index.js';

// the shared contract suite: shape, pure hooks, loading by package name
testCniPlugin({ factory: ptp, packageName: 'local-cluster-cni-ptp' }, { describe, it, expect });

describe('ptp example', () => {
  it('conforms and declares a buildable image', () => {
    expect(checkCniPlugin(ptp())).toEqual([]);
    expect(images().map((i) => i.ref)).toEqual([IMAGE]);
    expect(recipeProblems(images()[0].recipe)).toEqual([]);
  });
});
