import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { isAbortedError, isDriverError, isEngineUnreachableError } from '@local-cluster/core';
import { translateError } from '../../src/api.js';

const ctx = { docker: new Docker({ socketPath: '/nonexistent.sock' }), endpoint: 'unix:///nonexistent.sock' };

describe('translateError', () => {
  it.each(['ENOENT', 'ECONNREFUSED'])('turns %s into EngineUnreachableError naming the endpoint', (code) => {
    const error = translateError(ctx, 'list nodes', Object.assign(new Error(`connect ${code}`), { code }));
    expect(isEngineUnreachableError(error)).toBe(true);
    expect(error.message).toContain('unix:///nonexistent.sock');
  });

  it('keeps the engine message and status code of an API error', () => {
    const error = translateError(ctx, 'create node x', Object.assign(new Error('(HTTP code 409) conflict'), { statusCode: 409, json: { message: 'name in use' } }));
    expect(isDriverError(error)).toBe(true);
    expect(error).toMatchObject({ operation: 'create node x', statusCode: 409, message: 'create node x: name in use' });
  });

  it('turns aborts into AbortedError', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(isAbortedError(translateError(ctx, 'save images', abort))).toBe(true);
  });

  it('gives a permission hint for EACCES', () => {
    const error = translateError(ctx, 'info', Object.assign(new Error('EACCES'), { code: 'EACCES' }));
    expect(isDriverError(error)).toBe(true);
    expect(error.hint).toMatch(/docker group/);
  });
});
