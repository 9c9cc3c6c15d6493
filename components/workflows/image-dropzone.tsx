"use client";

import { useEffect, useId, useState, type DragEvent } from "react";
import { ImagePlus, X } from "lucide-react";
import type { Workflow } from "@/components/api/types";
import { buttonClass } from "@/components/ui/styles";

export interface PickedImage {
  file: File;
  /** Set once the image decoded and passed every check. */
  ok: boolean;
  error: string | null;
}

const TYPE_NAMES: Record<string, string> = { "image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP" };

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** The server's limits, checked before uploading so a wrong file fails fast and clearly. */
export function checkFile(file: File, accepts: Workflow["accepts"]): string | null {
  if (!accepts.content_types.includes(file.type)) {
    return `${file.name} is not a supported image. Use ${accepts.content_types.map((type) => TYPE_NAMES[type] ?? type).join(", ")}.`;
  }
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > accepts.max_bytes) return `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(accepts.max_bytes)}.`;
  return null;
}

export function decodeSize(url: string): Promise<{ width: number; height: number } | null> {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve({ width: image.naturalWidth, height: image.naturalHeight });
    image.onerror = () => resolve(null);
    image.src = url;
  });
}

/** Drag and drop, browse, or paste (usePasteImage); shows a preview and the checks' outcome. The file input stays the focusable control. */
export function ImageDropzone({
  accepts,
  value,
  onChange,
  description,
}: {
  accepts: Workflow["accepts"];
  value: PickedImage | null;
  onChange: (value: PickedImage | null) => void;
  /** The image input's help text (config.json `description`), read out with the limits. */
  description?: string | undefined;
}) {
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const [dragging, setDragging] = useState(false);
  // Kept with the file it shows: a preview of another (or no) file is not shown.
  const [decoded, setDecoded] = useState<{ file: File; url: string; width: number; height: number } | null>(null);

  const file = value?.file ?? null;
  const preview = decoded && decoded.file === file ? decoded : null;
  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    let current = true;
    const typeError = checkFile(file, accepts);
    if (typeError) {
      onChange({ file, ok: false, error: typeError });
      return () => URL.revokeObjectURL(url);
    }
    void decodeSize(url).then((size) => {
      if (!current) return;
      if (!size) {
        onChange({ file, ok: false, error: `${file.name} could not be read as an image.` });
        return;
      }
      setDecoded({ file, url, ...size });
      const pixels = size.width * size.height;
      onChange(
        pixels > accepts.max_pixels
          ? { file, ok: false, error: `${file.name} is ${size.width}×${size.height}; the limit is ${(accepts.max_pixels / 1e6).toFixed(0)} megapixels.` }
          : { file, ok: true, error: null },
      );
    });
    return () => {
      current = false;
      URL.revokeObjectURL(url);
    };
    // Deliberately not keyed on onChange: the checks run once per file.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [file, accepts]);

  const pick = (files: FileList | null) => {
    const next = files?.[0];
    if (next) onChange({ file: next, ok: false, error: null });
  };
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    pick(event.dataTransfer.files);
  };

  const error = value?.error ?? null;
  const limits = `${accepts.content_types.map((type) => TYPE_NAMES[type] ?? type).join(", ")} · up to ${formatBytes(accepts.max_bytes)}`;
  return (
    <div className="space-y-2">
      <div
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
        className={`relative flex h-56 items-center justify-center overflow-hidden rounded-2xl border-2 border-dashed transition-colors has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-offset-2 has-[input:focus-visible]:outline-amber-400 ${
          dragging ? "border-amber-400 bg-amber-500/10" : error ? "border-red-500/60 bg-red-500/5" : "border-slate-700 bg-slate-950 hover:border-slate-500"
        }`}
      >
        <input
          id={inputId}
          type="file"
          accept={accepts.content_types.join(",")}
          className="peer sr-only"
          aria-describedby={`${hintId}${error ? ` ${errorId}` : ""}`}
          aria-invalid={error ? true : undefined}
          onChange={(event) => {
            pick(event.currentTarget.files);
            event.currentTarget.value = "";
          }}
        />
        {preview && file ? (
          <>
            {/* The preview fills a fixed box: choosing an image does not move the form. */}
            <img src={preview.url} alt={`Preview of ${file.name}`} className="size-full object-contain" />
            <div className="absolute inset-x-0 bottom-0 flex items-center justify-between gap-2 bg-gradient-to-t from-slate-950 to-slate-950/0 px-3 pb-3 pt-8">
              <p className="min-w-0 truncate text-xs text-slate-200" data-testid="picked-file">
                {file.name} · {preview.width}×{preview.height} · {formatBytes(file.size)}
              </p>
              <div className="flex shrink-0 gap-2">
                <label htmlFor={inputId} className={buttonClass("secondary", "sm")}>
                  Replace
                </label>
                <button type="button" className={buttonClass("secondary", "sm")} onClick={() => onChange(null)} aria-label={`Remove ${file.name}`}>
                  <X aria-hidden className="size-4" />
                </button>
              </div>
            </div>
          </>
        ) : (
          <label htmlFor={inputId} className="flex size-full cursor-pointer flex-col items-center justify-center gap-2 px-6 text-center">
            <ImagePlus aria-hidden className="size-8 text-slate-400" />
            <span className="text-sm text-slate-200">
              Drop an image here, paste one (Ctrl+V) or <span className="font-medium text-amber-300 underline underline-offset-2">browse</span>
            </span>
          </label>
        )}
      </div>
      <p id={hintId} className="text-xs text-slate-400">
        {description ? `${description}. ${limits}` : limits}
      </p>
      <p id={errorId} role="alert" className="min-h-5 text-sm text-red-300" data-testid="file-error">
        {error ?? ""}
      </p>
    </div>
  );
}
