import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ffmpeg from "@ffmpeg-installer/ffmpeg";
import { describe, expect, it } from "vitest";
import { mp4DurationSeconds } from "@/lib/providers/media-duration";

async function clip(seconds: number): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "montage-duration-"));
  try {
    const file = path.join(dir, "clip.mp4");
    await promisify(execFile)(ffmpeg.path, ["-loglevel", "error", "-f", "lavfi", "-i", `color=c=blue:s=32x32:d=${seconds}:r=10`, "-pix_fmt", "yuv420p", "-y", file]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("an MP4's length, for pricing by seconds of output", () => {
  it("reads the movie header of a real MP4", async () => {
    expect(mp4DurationSeconds(await clip(1.5))).toBeCloseTo(1.5, 1);
  });

  it("says nothing for bytes that are not an MP4, or a truncated one", async () => {
    expect(mp4DurationSeconds(Buffer.from("not a video at all"))).toBeUndefined();
    expect(mp4DurationSeconds(Buffer.alloc(0))).toBeUndefined();
    const video = await clip(0.5);
    expect(mp4DurationSeconds(video.subarray(0, 40))).toBeUndefined();
  });
});
