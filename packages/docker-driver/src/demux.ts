/**
 * The engine's multiplexed stream format (no TTY): frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian payload length) and the payload.
 */

export type StreamType = 'stdin' | 'stdout' | 'stderr';

export interface Frame {
  stream: StreamType;
  payload: Buffer;
}

const TYPES: Record<number, StreamType> = { 0: 'stdin', 1: 'stdout', 2: 'stderr' };

/**
 * Splits a complete multiplexed buffer into frames. A buffer that does not
 * start with a valid header is returned as one stdout frame (TTY output).
 */
export function demuxBuffer(buffer: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = TYPES[buffer.readUInt8(offset)];
    if (type === undefined || buffer.readUIntBE(offset + 1, 3) !== 0) break;
    const length = buffer.readUInt32BE(offset + 4);
    const end = Math.min(offset + 8 + length, buffer.length);
    frames.push({ stream: type, payload: buffer.subarray(offset + 8, end) });
    offset = end;
  }
  if (offset < buffer.length) frames.push({ stream: 'stdout', payload: buffer.subarray(offset) });
  return frames;
}
