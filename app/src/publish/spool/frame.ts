import { crc32 } from 'node:zlib';

/**
 * One spooled record on disk. Format version 2, what is written:
 * `[sync FF 53 50 4C][u8 version = 2][u32 payload length][u32 CRC-32 of payload][u32 CRC-32 of the 13 bytes before it][payload]`.
 * Version 1, still read (segments of it can be on a retained volume at upgrade):
 * `[A5][u32 payload length][u32 CRC-32 of payload][payload]`.
 * The payload of both: `[f64 appendedAt ms][u16 key length][key UTF-8][data]`.
 *
 * The checksums tell a damaged frame from a record, so it is never sent; the sync marker (its first byte never
 * occurs in UTF-8 text) and the header's own checksum let the reader find the next whole frame after one that is
 * damaged, so corruption costs only the frames it hit.
 */
export interface SpoolRecord {
  partitionKey: string;
  data: Uint8Array;
  /** When it was spooled, epoch ms (for the oldest-age metric). */
  appendedAt: number;
}

export const FRAME_VERSION = 2;
const SYNC = Buffer.from([0xff, 0x53, 0x50, 0x4c]);
const HEADER_BYTES = 17;
const V1_MAGIC = 0xa5;
const V1_HEADER_BYTES = 9;
/** appendedAt, key length. */
const PAYLOAD_FIXED_BYTES = 10;
/** A record is at most 1 MiB with its key (Kinesis' limit); anything longer is not a frame. */
const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

export function encodeFrame(r: SpoolRecord): Buffer {
  const key = Buffer.from(r.partitionKey, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + PAYLOAD_FIXED_BYTES + key.length + r.data.byteLength);
  const payload = frame.subarray(HEADER_BYTES);
  payload.writeDoubleBE(r.appendedAt, 0);
  payload.writeUInt16BE(key.length, 8);
  key.copy(payload, PAYLOAD_FIXED_BYTES);
  payload.set(r.data, PAYLOAD_FIXED_BYTES + key.length);
  SYNC.copy(frame, 0);
  frame.writeUInt8(FRAME_VERSION, 4);
  frame.writeUInt32BE(payload.length, 5);
  frame.writeUInt32BE(crc32(payload), 9);
  frame.writeUInt32BE(crc32(frame.subarray(0, 13)), 13);
  return frame;
}

/** Bytes a record takes on disk in the current format. */
export function frameBytes(r: SpoolRecord): number {
  return HEADER_BYTES + PAYLOAD_FIXED_BYTES + Buffer.byteLength(r.partitionKey, 'utf8') + r.data.byteLength;
}

/** A stretch of a segment that holds no whole frame. */
export interface DamagedStretch {
  at: number;
  bytes: number;
  /** Frames that began in it (at least one). */
  records: number;
}

/** What reading a segment found. */
export interface DecodedFrames {
  records: SpoolRecord[];
  /** Where the last whole frame ends. */
  validBytes: number;
  /**
   * Stretches that hold no whole frame (a checksum fails, a header is not one), a damaged tail included, apart
   * from a torn last frame: frames that were written in full and cannot be read.
   */
  corrupt: DamagedStretch[];
  /** Where a last frame shorter than its header says begins (it runs to the end): what a crash mid-write leaves. */
  torn?: DamagedStretch;
}

type FrameRead = { ok: true; record: SpoolRecord; end: number } | { ok: false; torn: boolean };

/** Reads consecutive frames; past a damaged one, goes on from the next whole frame, if there is one. */
export function decodeFrames(buf: Buffer): DecodedFrames {
  const records: SpoolRecord[] = [];
  const corrupt: DamagedStretch[] = [];
  let at = 0;
  let validBytes = 0;
  while (at < buf.length) {
    const read = readFrame(buf, at);
    if (read.ok) {
      records.push(read.record);
      at = validBytes = read.end;
      continue;
    }
    const next = nextFrameAt(buf, at + 1);
    if (next >= 0) {
      corrupt.push(stretch(buf, at, next));
      at = next;
      continue;
    }
    const tornAt = read.torn ? at : tornFrameAt(buf, at + 1);
    if (tornAt !== at) corrupt.push(stretch(buf, at, tornAt < 0 ? buf.length : tornAt));
    return { records, validBytes, corrupt, ...(tornAt >= 0 && { torn: stretch(buf, tornAt, buf.length) }) };
  }
  return { records, validBytes, corrupt };
}

function stretch(buf: Buffer, at: number, end: number): DamagedStretch {
  return { at, bytes: end - at, records: Math.max(1, countSync(buf, at, end)) };
}

/** The start of a frame at or after `from` that runs past the end of `buf`, or -1. */
function tornFrameAt(buf: Buffer, from: number): number {
  for (let at = buf.indexOf(SYNC, from); at >= 0; at = buf.indexOf(SYNC, at + 1)) {
    const read = readFrame(buf, at);
    if (!read.ok && read.torn) return at;
  }
  return -1;
}

function readFrame(buf: Buffer, at: number): FrameRead {
  if (buf[at] === V1_MAGIC) return readV1Frame(buf, at);
  if (buf.length - at < HEADER_BYTES) {
    // Torn only if what is there is how a frame begins.
    const head = buf.subarray(at, at + SYNC.length);
    return { ok: false, torn: head.equals(SYNC.subarray(0, head.length)) };
  }
  if (!buf.subarray(at, at + SYNC.length).equals(SYNC) || buf.readUInt32BE(at + 13) !== crc32(buf.subarray(at, at + 13))) return { ok: false, torn: false };
  const len = buf.readUInt32BE(at + 5);
  const end = at + HEADER_BYTES + len;
  if (buf.readUInt8(at + 4) !== FRAME_VERSION || len < PAYLOAD_FIXED_BYTES || len > MAX_PAYLOAD_BYTES) return { ok: false, torn: false };
  if (end > buf.length) return { ok: false, torn: true };
  return readPayload(buf.subarray(at + HEADER_BYTES, end), buf.readUInt32BE(at + 9), end);
}

function readV1Frame(buf: Buffer, at: number): FrameRead {
  if (buf.length - at < V1_HEADER_BYTES) return { ok: false, torn: true };
  const len = buf.readUInt32BE(at + 1);
  const end = at + V1_HEADER_BYTES + len;
  if (len < PAYLOAD_FIXED_BYTES || len > MAX_PAYLOAD_BYTES) return { ok: false, torn: false };
  if (end > buf.length) return { ok: false, torn: true };
  // Cheap plausibility before the checksum, since a one-byte marker also turns up inside data.
  const appendedAt = buf.readDoubleBE(at + V1_HEADER_BYTES);
  if (!(appendedAt > 9e11 && appendedAt < 1e13)) return { ok: false, torn: false };
  return readPayload(buf.subarray(at + V1_HEADER_BYTES, end), buf.readUInt32BE(at + 5), end);
}

function readPayload(payload: Buffer, crc: number, end: number): FrameRead {
  if (crc32(payload) !== crc) return { ok: false, torn: false };
  const keyLen = payload.readUInt16BE(8);
  if (PAYLOAD_FIXED_BYTES + keyLen > payload.length) return { ok: false, torn: false };
  return {
    ok: true,
    end,
    record: {
      appendedAt: payload.readDoubleBE(0),
      partitionKey: payload.toString('utf8', PAYLOAD_FIXED_BYTES, PAYLOAD_FIXED_BYTES + keyLen),
      data: Buffer.from(payload.subarray(PAYLOAD_FIXED_BYTES + keyLen)),
    },
  };
}

/** The start of the next whole frame at or after `from`, or -1. */
function nextFrameAt(buf: Buffer, from: number): number {
  let sync = buf.indexOf(SYNC, from);
  let v1 = buf.indexOf(V1_MAGIC, from);
  while (sync >= 0 || v1 >= 0) {
    const at = sync < 0 ? v1 : v1 < 0 ? sync : Math.min(sync, v1);
    if (readFrame(buf, at).ok) return at;
    if (at === sync) sync = buf.indexOf(SYNC, at + 1);
    if (at === v1) v1 = buf.indexOf(V1_MAGIC, at + 1);
  }
  return -1;
}

/** Frames that began in `[from, to)`: each sync marker there was the start of a record. */
function countSync(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let at = buf.indexOf(SYNC, from); at >= 0 && at < to; at = buf.indexOf(SYNC, at + 1)) n++;
  return n;
}
