import { crc32 } from 'node:zlib';

/**
 * One spooled record on disk: `[magic 0xA5][u32 payload length][u32 CRC-32 of payload][payload]`, payload
 * `[f64 appendedAt ms][u16 key length][key UTF-8][data]`. The checksum lets recovery tell a torn or corrupt
 * tail from a record, so a damaged write is cut, never sent.
 */
export interface SpoolRecord {
  partitionKey: string;
  data: Uint8Array;
  /** When it was spooled, epoch ms (for the oldest-age metric). */
  appendedAt: number;
}

const MAGIC = 0xa5;
export const FRAME_HEADER_BYTES = 9;

export function encodeFrame(r: SpoolRecord): Buffer {
  const key = Buffer.from(r.partitionKey, 'utf8');
  const payload = Buffer.allocUnsafe(8 + 2 + key.length + r.data.byteLength);
  payload.writeDoubleBE(r.appendedAt, 0);
  payload.writeUInt16BE(key.length, 8);
  key.copy(payload, 10);
  payload.set(r.data, 10 + key.length);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt8(MAGIC, 0);
  header.writeUInt32BE(payload.length, 1);
  header.writeUInt32BE(crc32(payload), 5);
  return Buffer.concat([header, payload]);
}

/** Result of reading frames from a buffer: the records, and where the valid prefix ends. */
export interface DecodedFrames {
  records: SpoolRecord[];
  /** Bytes of whole, valid frames from the start; anything after is torn or corrupt. */
  validBytes: number;
  /** Why reading stopped before the end, if it did. */
  damage?: 'torn' | 'corrupt';
}

/** Reads consecutive frames; stops at the first incomplete (torn) or failing-checksum (corrupt) frame. */
export function decodeFrames(buf: Buffer): DecodedFrames {
  const records: SpoolRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < FRAME_HEADER_BYTES) return { records, validBytes: at, damage: 'torn' };
    if (buf.readUInt8(at) !== MAGIC) return { records, validBytes: at, damage: 'corrupt' };
    const len = buf.readUInt32BE(at + 1);
    const end = at + FRAME_HEADER_BYTES + len;
    if (end > buf.length) return { records, validBytes: at, damage: 'torn' };
    const payload = buf.subarray(at + FRAME_HEADER_BYTES, end);
    if (crc32(payload) !== buf.readUInt32BE(at + 5) || len < 10) return { records, validBytes: at, damage: 'corrupt' };
    const keyLen = payload.readUInt16BE(8);
    if (10 + keyLen > len) return { records, validBytes: at, damage: 'corrupt' };
    records.push({
      appendedAt: payload.readDoubleBE(0),
      partitionKey: payload.toString('utf8', 10, 10 + keyLen),
      data: Buffer.from(payload.subarray(10 + keyLen)),
    });
    at = end;
  }
  return { records, validBytes: at };
}
