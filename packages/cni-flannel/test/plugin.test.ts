import { describe, expect, it } from 'vitest';
import { testCniPlugin } from '@local-cluster/core/testing';
import factory from '../src/index.js';

testCniPlugin({ factory, packageName: '@local-cluster/cni-flannel' }, { describe, it, expect });
