"use client";

import { useEffect } from "react";

/**
 * Ctrl+V (⌘V) of an image anywhere on the page picks it, as if it had been dropped. Text pastes are
 * left alone, so the prompt fields work as usual.
 */
export function usePasteImage(onImage: (file: File) => void): void {
  useEffect(() => {
    const onPaste = (event: ClipboardEvent) => {
      const file = [...(event.clipboardData?.files ?? [])].find((candidate) => candidate.type.startsWith("image/"));
      if (!file) return;
      event.preventDefault();
      // Screenshots arrive without a useful name: give it one the preview and the run can show.
      const named = file.name && file.name !== "image.png" ? file : new File([file], `pasted-image.${file.type.split("/")[1] ?? "png"}`, { type: file.type });
      onImage(named);
    };
    document.addEventListener("paste", onPaste);
    return () => document.removeEventListener("paste", onPaste);
  }, [onImage]);
}
