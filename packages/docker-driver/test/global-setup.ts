import { dockerDriver } from '../src/index.js';
import { ensureBusyboxImage } from './fixtures/busybox-image.js';

/**
 * Imports the fixture image before any test file runs, so parallel files never
 * race to import it; an unreachable engine fails the whole run here.
 */
export default async function setup(): Promise<void> {
  await ensureBusyboxImage(dockerDriver());
}
