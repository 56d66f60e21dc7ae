import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from 'ssh2';
import { SshDialAgent } from '../../src/ssh.js';

// A stand-in for sshd + `docker system dial-stdio` (the real pair runs in tests/clusters/remote.test.ts):
// an ssh2 server whose exec channels are piped into an HTTP server that plays the engine.
let dir: string;
let sshd: Server;
let sshPort = 0;
const execs: string[] = [];
let key: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lc-ssh-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user')]);
  key = readFileSync(join(dir, 'user'));
  const engine = createHttpServer((req, res) => res.end(`${req.method} ${req.url}`));
  sshd = new Server({ hostKeys: [readFileSync(join(dir, 'host'))] }, (client) => {
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('ready', () =>
      client.on('session', (accept) =>
        accept().once('exec', (acceptExec, _reject, info) => {
          execs.push(info.command);
          const channel = acceptExec();
          engine.emit('connection', channel);
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => sshd.listen(0, '127.0.0.1', resolve));
  sshPort = (sshd.address() as AddressInfo).port;
});

afterAll(() => {
  sshd.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(agent: SshDialAgent, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sshPort, path, agent }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('SshDialAgent', () => {
  it('runs `docker system dial-stdio` and keeps the channel for the next requests (one more is opened ahead)', async () => {
    execs.length = 0;
    const agent = new SshDialAgent({ host: '127.0.0.1', port: sshPort, username: 'me', privateKey: key });
    try {
      for (const path of ['/_ping', '/version', '/containers/json']) expect(await get(agent, path)).toBe(`GET ${path}`);
      expect(execs.every((c) => c === 'docker system dial-stdio')).toBe(true);
      // not one per request: the first channel is reused, plus the spare
      expect(execs.length).toBeLessThanOrEqual(2);
    } finally {
      agent.destroy();
    }
  });

  it('serves parallel requests over several channels', async () => {
    const agent = new SshDialAgent({ host: '127.0.0.1', port: sshPort, username: 'me', privateKey: key });
    try {
      const bodies = await Promise.all(Array.from({ length: 12 }, (_, i) => get(agent, `/p/${i}`)));
      expect(bodies).toEqual(Array.from({ length: 12 }, (_, i) => `GET /p/${i}`));
    } finally {
      agent.destroy();
    }
  });

  it('fails a request when the login is refused', async () => {
    const agent = new SshDialAgent({ host: '127.0.0.1', port: sshPort, username: 'me', password: 'nope' });
    try {
      await expect(get(agent, '/_ping')).rejects.toThrow(/authentication methods failed/);
    } finally {
      agent.destroy();
    }
  });
});
