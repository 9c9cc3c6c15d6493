import "server-only";
/**
 * The local stand-in for an image-to-video model: the bundled ffmpeg renders a real H.264 MP4 with a
 * slow pan and zoom over the first frame ("Ken Burns"), small enough to stay quick on 2 cores.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { TEMP_PREFIXES, tempName } from "@/lib/temp-files";
import { HardError } from "@/lib/workflows/errors";

const FPS = 25;
const DEFAULT_DURATION_SECONDS = 4;
const MAX_DURATION_SECONDS = 30;
const MAX_LONG_SIDE = 720;
const MIN_LONG_SIDE = 240;
// zoompan crops at whole pixels; working on a 4x upscale turns that jitter into sub-pixel motion.
const ZOOMPAN_OVERSAMPLE = 4;
const ZOOM_AMOUNT = 0.15;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const STDERR_TAIL_LINES = 12;

export interface GenerateVideoOptions {
  signal: AbortSignal;
  /** 0..100 as frames are encoded; a rejection stops ffmpeg and fails the call. */
  onProgress(percent: number): Promise<void> | void;
  /** Default 4, at most 30. */
  durationSeconds?: number;
  /** Overrides the bundled binary (e.g. a system ffmpeg from config). */
  ffmpegPath?: string;
  /** Safety net for a wedged ffmpeg; ends in a TimeoutError (retryable). Default 5 minutes. */
  timeoutMs?: number;
}

type Motion = "zoom-in" | "zoom-out" | "pan-left" | "pan-right" | "pan-up" | "pan-down";

let bundledFfmpegPath: Promise<string> | undefined;

/** Path of the ffmpeg shipped in `@ffmpeg-installer/ffmpeg`; imported lazily because it throws on unsupported platforms. */
export function resolveFfmpegPath(): Promise<string> {
  bundledFfmpegPath ??= import("@ffmpeg-installer/ffmpeg").then((module) => module.default.path);
  return bundledFfmpegPath;
}

export function chooseMotion(prompt: string): Motion {
  const p = prompt.toLowerCase();
  if (/\b(?:zoom(?:ing)?\s+out|pull(?:ing)?\s+back|dolly\s+out|reveal)\b/.test(p)) return "zoom-out";
  if (/\b(?:pan(?:ning)?\s+left|move(?:s|ing)?\s+left|leftward)\b/.test(p)) return "pan-left";
  if (/\b(?:pan(?:ning)?\s+right|move(?:s|ing)?\s+right|rightward)\b/.test(p)) return "pan-right";
  if (/\b(?:tilt(?:ing)?\s+up|pan(?:ning)?\s+up|rising|rise|ascend\w*)\b/.test(p)) return "pan-up";
  if (/\b(?:tilt(?:ing)?\s+down|pan(?:ning)?\s+down|falling|descend\w*)\b/.test(p)) return "pan-down";
  return "zoom-in";
}

/** zoompan expressions; `t` runs 0..1 over the clip, eased so the motion starts and ends gently. */
function zoompanFilter(motion: Motion, frames: number, width: number, height: number): string {
  const t = `(0.5-0.5*cos(PI*on/${Math.max(frames - 1, 1)}))`;
  const zoomIn = `1+${ZOOM_AMOUNT}*${t}`;
  const centerX = "(iw-iw/zoom)/2";
  const centerY = "(ih-ih/zoom)/2";
  const [zoom, x, y] = {
    "zoom-in": [zoomIn, centerX, centerY],
    "zoom-out": [`1+${ZOOM_AMOUNT}*(1-${t})`, centerX, centerY],
    "pan-left": [`${1 + ZOOM_AMOUNT}`, `(iw-iw/zoom)*(1-${t})`, centerY],
    "pan-right": [`${1 + ZOOM_AMOUNT}`, `(iw-iw/zoom)*${t}`, centerY],
    "pan-up": [`${1 + ZOOM_AMOUNT}`, centerX, `(ih-ih/zoom)*(1-${t})`],
    "pan-down": [`${1 + ZOOM_AMOUNT}`, centerX, `(ih-ih/zoom)*${t}`],
  }[motion];
  return [
    `scale=${width * ZOOMPAN_OVERSAMPLE}:${height * ZOOMPAN_OVERSAMPLE}:flags=bicubic`,
    `zoompan=z='${zoom}':x='${x}':y='${y}':d=${frames}:s=${width}x${height}:fps=${FPS}`,
    "format=yuv420p",
  ].join(",");
}

function even(value: number): number {
  return Math.max(2, Math.round(value / 2) * 2);
}

/** Decodes and orients the frame, sized so the long side is within [240, 720] and both sides even. */
async function prepareFrame(image: Buffer): Promise<{ png: Buffer; width: number; height: number }> {
  try {
    const oriented = await sharp(image)
      .autoOrient()
      .flatten({ background: "#000000" })
      .toColourspace("srgb")
      .png()
      .toBuffer({ resolveWithObject: true });
    const { width, height } = oriented.info;
    const longSide = Math.max(width, height);
    const scale = Math.min(MAX_LONG_SIDE, Math.max(MIN_LONG_SIDE, longSide)) / longSide;
    const size = { width: even(width * scale), height: even(height * scale) };
    const png = await sharp(oriented.data).resize({ ...size, fit: "fill" }).png({ compressionLevel: 1 }).toBuffer();
    return { png, ...size };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HardError("invalid_input", `First frame image could not be decoded: ${reason}`, { cause: error });
  }
}

function validDuration(seconds: number | undefined): number {
  if (seconds === undefined) return DEFAULT_DURATION_SECONDS;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_DURATION_SECONDS) {
    throw new HardError("invalid_input", `Video duration must be between 0 and ${MAX_DURATION_SECONDS} seconds, got ${seconds}`);
  }
  return seconds;
}

/** Renders a pan-and-zoom MP4 (H.264, yuv420p, 25 fps, +faststart) from `image`. */
export async function generateVideo(image: Buffer, prompt: string, options: GenerateVideoOptions): Promise<Buffer> {
  const seconds = validDuration(options.durationSeconds);
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)]);
  signal.throwIfAborted();
  const frame = await prepareFrame(image);
  const ffmpegPath = options.ffmpegPath ?? (await resolveFfmpegPath());
  const frames = Math.max(1, Math.round(seconds * FPS));
  // Named after this process, so that start-up can sweep the folders of a server killed mid-render.
  const dir = await mkdtemp(path.join(os.tmpdir(), tempName(TEMP_PREFIXES.video)));
  try {
    const inputPath = path.join(dir, "frame.png");
    const outputPath = path.join(dir, "out.mp4");
    await writeFile(inputPath, frame.png);
    signal.throwIfAborted();
    // -loglevel error keeps stderr to real problems, so its tail is a useful error message.
    const args = [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-y"],
      ...["-i", inputPath],
      ...["-vf", zoompanFilter(chooseMotion(prompt), frames, frame.width, frame.height)],
      ...["-frames:v", String(frames), "-r", String(FPS), "-an"],
      ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"],
      ...["-movflags", "+faststart", "-progress", "pipe:1", outputPath],
    ];
    await runFfmpeg(ffmpegPath, args, { signal, frames, onProgress: options.onProgress });
    return await readFile(outputPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const SETPRIV = "/usr/bin/setpriv";

/**
 * ffmpeg must not outlive the server: a kill -9 runs no cleanup, and an orphaned ffmpeg would go
 * on burning CPU. On Linux, util-linux's setpriv sets the parent-death signal (SIGKILL) and then
 * runs ffmpeg in its place, so the kernel kills ffmpeg when the server dies. Elsewhere (a developer's
 * laptop) ffmpeg runs plainly and only a clean stop kills it.
 */
function diesWithParent(command: string, args: string[]): [string, string[]] {
  if (process.platform !== "linux" || !existsSync(SETPRIV) || !isExecutable(command)) return [command, args];
  return [SETPRIV, ["--pdeathsig", "KILL", "--", command, ...args]];
}

/** A missing ffmpeg is then reported by spawn itself ("Could not start ffmpeg at ..."), not by setpriv. */
function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface RunOptions {
  signal: AbortSignal;
  frames: number;
  onProgress(percent: number): Promise<void> | void;
}

/** Runs ffmpeg to completion; on abort or a failed progress callback it kills ffmpeg and waits for it to exit. */
function runFfmpeg(ffmpegPath: string, args: string[], { signal, frames, onProgress }: RunOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const [command, commandArgs] = diesWithParent(ffmpegPath, args);
    const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"] });
    let failure: { error: unknown } | undefined;
    let stdoutRest = "";
    let stderr = "";
    let reported = -1;
    let progressChain: Promise<void> = Promise.resolve();

    const fail = (error: unknown): void => {
      failure ??= { error };
      child.kill("SIGKILL");
    };
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });

    const report = (percent: number): void => {
      if (percent <= reported) return;
      reported = percent;
      progressChain = progressChain.then(() => onProgress(percent)).catch(fail);
    };

    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const lines = (stdoutRest + chunk).split("\n");
      stdoutRest = lines.pop() ?? "";
      for (const line of lines) {
        const [key, value] = line.trim().split("=", 2);
        // frame= is exact; out_time_us is the fallback for builds that report time only.
        let done: number | undefined;
        if (key === "frame") done = Number(value) / frames;
        else if (key === "out_time_us") done = Number(value) / 1e6 / (frames / FPS);
        if (done !== undefined && Number.isFinite(done)) report(Math.min(99, Math.floor(done * 100)));
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8_000);
    });

    child.on("error", (error) => fail(new Error(`Could not start ffmpeg at ${ffmpegPath}: ${error.message}`, { cause: error })));
    child.on("close", (code, killedBy) => {
      signal.removeEventListener("abort", onAbort);
      void progressChain.then(() => {
        if (failure) return reject(failure.error);
        if (code !== 0) {
          const tail = stderr.trim().split("\n").slice(-STDERR_TAIL_LINES).join("\n");
          return reject(new Error(`ffmpeg exited with ${code ?? killedBy}: ${tail || "(no output)"}`));
        }
        report(100);
        void progressChain.then(() => (failure ? reject(failure.error) : resolve()));
      });
    });
  });
}
