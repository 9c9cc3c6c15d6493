"use client";

import { useEffect, useState } from "react";
import { Camera, Clapperboard, Cog, Film, Image as ImageIcon, Music, Package, Palette, Sparkles, Video, Workflow as WorkflowGlyph, type LucideIcon } from "lucide-react";

/**
 * A workflow's own `icon` (an emoji in its config.json, unchanged in the API) as the interface shows
 * it: the common ones as lucide icons, which every browser draws; any other emoji only where the
 * system can draw it (checked once per emoji), else a neutral icon, never an empty box.
 */
const KNOWN: Record<string, LucideIcon> = {
  "🎬": Clapperboard,
  "🎥": Video,
  "📹": Video,
  "🎞": Film,
  "🖼": ImageIcon,
  "🎨": Palette,
  "📷": Camera,
  "📸": Camera,
  "🎵": Music,
  "🎶": Music,
  "✨": Sparkles,
  "⚙": Cog,
  "📦": Package,
};

/** Without variation selectors: "⚙️" and "⚙" are one icon. */
function normalize(icon: string): string {
  return icon.replace(/[\uFE0E\uFE0F]/g, "").trim();
}

const drawable = new Map<string, boolean>();

/** Whether an emoji font draws it: a colour glyph leaves coloured pixels; a missing one (a box) does not. */
function canDraw(emoji: string): boolean {
  const known = drawable.get(emoji);
  if (known !== undefined) return known;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 32;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let result = false;
  if (context) {
    context.fillStyle = "#000";
    context.textBaseline = "top";
    context.font = '24px "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", sans-serif';
    context.fillText(emoji, 0, 0);
    const pixels = context.getImageData(0, 0, 32, 32).data;
    for (let i = 0; i < pixels.length && !result; i += 4) {
      result = pixels[i + 3]! > 0 && (pixels[i]! > 40 || pixels[i + 1]! > 40 || pixels[i + 2]! > 40);
    }
  }
  drawable.set(emoji, result);
  return result;
}

export function WorkflowIcon({ icon, className = "size-5" }: { icon: string | undefined; className?: string }) {
  const key = normalize(icon ?? "");
  const Known = KNOWN[key];
  const [emojiOk, setEmojiOk] = useState(false);
  useEffect(() => {
    if (Known || !key) return;
    // Measured after mounting (the server cannot know the reader's fonts); until then the neutral icon.
    const frame = window.requestAnimationFrame(() => setEmojiOk(canDraw(key)));
    return () => window.cancelAnimationFrame(frame);
  }, [Known, key]);
  if (Known) return <Known aria-hidden className={className} />;
  if (emojiOk) return <span aria-hidden>{key}</span>;
  return <WorkflowGlyph aria-hidden className={className} />;
}
