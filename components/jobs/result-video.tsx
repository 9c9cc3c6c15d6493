"use client";

import { useEffect, useRef } from "react";
import { Download } from "lucide-react";
import { mediaSrc } from "@/components/jobs/media";
import { buttonClass } from "@/components/ui/styles";

export function ResultVideo({ url, jobId }: { url: string; jobId: string }) {
  const src = mediaSrc(url);
  const videoRef = useRef<HTMLVideoElement>(null);
  // React sets `muted` as a property after the element starts loading, too late for the browser's
  // muted-autoplay rule: mute and start it explicitly. A refusal just leaves the controls to the user.
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.muted = true;
    video.play().catch(() => undefined);
  }, [src]);
  return (
    <section aria-labelledby={`result-${jobId}`} className="space-y-3">
      <div className="flex items-center justify-between gap-3">
        <h3 id={`result-${jobId}`} className="text-sm font-semibold text-slate-100">
          Result
        </h3>
        <a href={src} download={`montage-${jobId.slice(0, 8)}.mp4`} className={buttonClass("secondary", "sm")}>
          <Download aria-hidden className="size-4" />
          Download video
        </a>
      </div>
      <div className="aspect-video overflow-hidden rounded-xl border border-slate-800 bg-black">
        <video
          ref={videoRef}
          data-testid="result-video"
          src={src}
          className="size-full object-contain"
          controls
          autoPlay
          muted
          loop
          playsInline
          preload="auto"
          aria-label="Generated video"
        />
      </div>
    </section>
  );
}
