import "server-only";

/**
 * The length of an MP4 in seconds, read from its movie header (`moov` → `mvhd`: timescale and
 * duration), or undefined when the bytes are not an MP4 with one. Used to price a video by its
 * seconds of output without decoding it.
 */
export function mp4DurationSeconds(data: Buffer): number | undefined {
  const moov = findBox(data, 0, data.length, "moov");
  if (!moov) return undefined;
  const mvhd = findBox(data, moov.start, moov.end, "mvhd");
  if (!mvhd) return undefined;
  const version = data[mvhd.start];
  if (mvhd.end - mvhd.start < (version === 1 ? 32 : 20)) return undefined;
  // version 0: 4-byte creation and modification times, then 4-byte timescale and duration; version 1: 8-byte times and duration.
  const timescale = version === 1 ? data.readUInt32BE(mvhd.start + 20) : data.readUInt32BE(mvhd.start + 12);
  const duration = version === 1 ? Number(data.readBigUInt64BE(mvhd.start + 24)) : data.readUInt32BE(mvhd.start + 16);
  if (timescale === 0) return undefined;
  return duration / timescale;
}

/** The body (after the header) of the first box of `type` between `from` and `to`. */
function findBox(data: Buffer, from: number, to: number, type: string): { start: number; end: number } | undefined {
  let offset = from;
  while (offset + 8 <= to) {
    let size = data.readUInt32BE(offset);
    let header = 8;
    if (size === 1) {
      if (offset + 16 > to) return undefined;
      size = Number(data.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = to - offset;
    }
    if (size < header || offset + size > to) return undefined;
    if (data.toString("latin1", offset + 4, offset + 8) === type) return { start: offset + header, end: offset + size };
    offset += size;
  }
  return undefined;
}
