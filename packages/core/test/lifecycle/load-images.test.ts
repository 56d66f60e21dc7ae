import { describe, expect, it } from 'vitest';
import { imagesByNodes } from '../../src/lifecycle/steps/images.js';
import type { ImageRequirement } from '../../src/contracts/context.js';

const needed = (ref: string, loadIntoNodes?: boolean | 'control-planes'): ImageRequirement => ({ ref, ...(loadIntoNodes === undefined ? {} : { loadIntoNodes }) });

describe('imagesByNodes: which nodes each image is loaded into', () => {
  it('every node by default, the control planes for `control-planes`, none for false', () => {
    expect(imagesByNodes([needed('cni:1'), needed('addon:1', 'control-planes'), needed('node:1', false), needed('other:1', true)])).toEqual({
      everyNode: ['cni:1', 'other:1'],
      controlPlanes: ['addon:1'],
    });
  });

  it('an image both ask for goes to every node, once', () => {
    expect(imagesByNodes([needed('shared:1', 'control-planes'), needed('shared:1'), needed('shared:1')])).toEqual({ everyNode: ['shared:1'], controlPlanes: [] });
  });
});
