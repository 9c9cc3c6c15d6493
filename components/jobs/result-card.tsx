"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { ArrowRight, Download, ImageUp, RotateCw } from "lucide-react";
import { downloadName, mediaSrc, type StepMedia } from "@/components/jobs/media";
import { MediaFrame } from "@/components/ui/media-frame";
import { buttonClass, cardClass } from "@/components/ui/styles";
import { useReducedMotion } from "@/components/ui/use-reduced-motion";

export interface ResultActions {
  /** Starts the form over with this run's inputs (the runner page); else a link to the runner does. */
  onRunAgain?: (() => void) | undefined;
  runAgainHref: string;
  /** Puts an image into the form (the runner page only). */
  onUseAsInput?: ((media: StepMedia) => void) | undefined;
  /** The run's page, when not on it. */
  detailsHref?: string | undefined;
}

function ResultMedia({ media, aspect }: { media: StepMedia; aspect: number }) {
  const reducedMotion = useReducedMotion();
  const [loaded, setLoaded] = useState(false);
  const videoRef = useRef<HTMLVideoElement>(null);
  const src = mediaSrc(media.url);
  // React sets `muted` as a property after loading starts, too late for the browser's muted-autoplay
  // rule: mute and start it here. Under prefers-reduced-motion it neither starts nor loops by itself.
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.muted = true;
    if (reducedMotion) video.pause();
    else video.play().catch(() => undefined);
  }, [src, reducedMotion]);
  return (
    <MediaFrame aspect={aspect} loaded={loaded} className="max-h-[70vh] bg-black" label={media.kind === "video" ? "Loading the video…" : "Loading the image…"}>
      {media.kind === "video" ? (
        <video
          ref={videoRef}
          data-testid="result-video"
          src={src}
          className="size-full object-contain"
          controls
          muted
          loop={!reducedMotion}
          playsInline
          preload="auto"
          aria-label="Generated video"
          onLoadedData={() => setLoaded(true)}
          onError={() => setLoaded(true)}
        />
      ) : (
        <img data-testid="result-image" src={src} alt="Generated image" className="size-full object-contain" onLoad={() => setLoaded(true)} onError={() => setLoaded(true)} />
      )}
    </MediaFrame>
  );
}

/**
 * A finished run's result, large and first: the player or image, what it was made from, and what
 * to do next (download, run again, use an image as the next input, the run's page).
 */
export function ResultCard({
  jobId,
  result,
  edited,
  aspect,
  caption,
  actions,
}: {
  jobId: string;
  result: StepMedia;
  /** The last image the run made (an edit), offered as the next run's input when the result is not one. */
  edited: StepMedia | undefined;
  aspect: number;
  caption: string | undefined;
  actions: ResultActions;
}) {
  const reusable = result.kind === "image" ? result : edited;
  return (
    <section aria-labelledby={`result-${jobId}`} className={`${cardClass} space-y-4 p-4 sm:p-5`} data-testid="result-card">
      <div className="min-w-0">
        <h2 id={`result-${jobId}`} className="text-lg font-semibold text-white">
          Your {result.kind}
        </h2>
        {caption && <p className="mt-0.5 line-clamp-2 text-sm text-slate-300">“{caption}”</p>}
      </div>
      <ResultMedia media={result} aspect={aspect} />
      <div className="flex flex-wrap gap-2">
        <a href={mediaSrc(result.url)} download={downloadName(jobId, result)} className={buttonClass("primary")}>
          <Download aria-hidden className="size-4" />
          Download {result.kind}
        </a>
        {actions.onRunAgain ? (
          <button type="button" className={buttonClass("secondary")} onClick={actions.onRunAgain}>
            <RotateCw aria-hidden className="size-4" />
            Run again
          </button>
        ) : (
          <Link href={actions.runAgainHref} className={buttonClass("secondary")}>
            <RotateCw aria-hidden className="size-4" />
            Run again
          </Link>
        )}
        {actions.onUseAsInput && reusable && (
          <button type="button" className={buttonClass("secondary")} onClick={() => actions.onUseAsInput?.(reusable)}>
            <ImageUp aria-hidden className="size-4" />
            {result.kind === "image" ? "Use as input" : "Use the edited image as input"}
          </button>
        )}
        {actions.detailsHref && (
          <Link href={actions.detailsHref} className={buttonClass("ghost")}>
            Run details
            <ArrowRight aria-hidden className="size-4" />
          </Link>
        )}
      </div>
    </section>
  );
}
