import { describe, expect, it } from 'vitest';
import { demuxBuffer } from '../../src/demux.js';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demuxBuffer', () => {
  it('splits stdout and stderr frames in order', () => {
    const frames = demuxBuffer(Buffer.concat([frame(1, 'out1\n'), frame(2, 'err\n'), frame(1, 'out2\n')]));
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
      ['stdout', 'out1\n'],
      ['stderr', 'err\n'],
      ['stdout', 'out2\n'],
    ]);
  });

  it('handles empty input and empty frames', () => {
    expect(demuxBuffer(Buffer.alloc(0))).toEqual([]);
    expect(demuxBuffer(frame(1, '')).map((f) => f.payload.length)).toEqual([0]);
  });

  it('keeps a truncated last frame', () => {
    const whole = frame(2, 'truncated');
    expect(demuxBuffer(whole.subarray(0, whole.length - 3)).map((f) => f.payload.toString())).toEqual(['trunca']);
  });

  it('treats output without headers (a TTY) as stdout', () => {
    expect(demuxBuffer(Buffer.from('plain text output')).map((f) => [f.stream, f.payload.toString()])).toEqual([
      ['stdout', 'plain text output'],
    ]);
  });
});
