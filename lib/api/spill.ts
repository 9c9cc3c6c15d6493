import "server-only";
import { randomUUID } from "node:crypto";
import { open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { TEMP_PREFIXES, tempName } from "@/lib/temp-files";

/**
 * Bytes collected in memory up to `thresholdBytes`, then in a temporary file: an upload that
 * stalls (or trickles) holds at most the threshold in memory, whatever its size, so many slow
 * uploads cannot pin the server's memory. Read whole with `contents()` once the body has arrived.
 */
export class SpillBuffer {
  private chunks: Buffer[] = [];
  private inMemory = 0;
  private file: { path: string; handle: FileHandle } | undefined;
  private discarded = false;
  size = 0;

  constructor(
    private readonly thresholdBytes: number,
    private readonly dir: string = tmpdir(),
  ) {}

  get spilled(): boolean {
    return this.file !== undefined;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.discarded) return;
    this.size += chunk.length;
    if (!this.file && this.inMemory + chunk.length <= this.thresholdBytes) {
      this.chunks.push(chunk);
      this.inMemory += chunk.length;
      return;
    }
    if (!this.file) {
      const filePath = path.join(this.dir, `${tempName(TEMP_PREFIXES.upload)}${randomUUID()}`);
      // Only this process reads it: owner-only, and never an existing file.
      const handle = await open(filePath, "wx+", 0o600);
      if (this.discarded) {
        // Discarded while the file was being opened (the request failed meanwhile).
        await handle.close().catch(() => undefined);
        await rm(filePath, { force: true }).catch(() => undefined);
        return;
      }
      this.file = { path: filePath, handle };
      const held = Buffer.concat(this.chunks, this.inMemory);
      this.chunks = [];
      this.inMemory = 0;
      await this.file.handle.write(held);
    }
    await this.file.handle.write(chunk);
  }

  /** Everything written, as one buffer; the temporary file is removed. */
  async contents(): Promise<Buffer> {
    if (!this.file) return Buffer.concat(this.chunks, this.inMemory);
    const { handle } = this.file;
    const data = Buffer.alloc(this.size);
    let offset = 0;
    while (offset < this.size) {
      const { bytesRead } = await handle.read(data, offset, this.size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    await this.discard();
    return data;
  }

  /** Drops what was collected; safe to call more than once. */
  async discard(): Promise<void> {
    this.discarded = true;
    this.chunks = [];
    this.inMemory = 0;
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    await file.handle.close().catch(() => undefined);
    await rm(file.path, { force: true }).catch(() => undefined);
  }
}
