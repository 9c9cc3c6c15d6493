"use client";

import { useState } from "react";
import { Download, ImageUp, Maximize2 } from "lucide-react";
import { BeforeAfter } from "@/components/jobs/before-after";
import { downloadName, imageBefore, mediaSrc, type StepMedia } from "@/components/jobs/media";
import { Lightbox } from "@/components/ui/lightbox";
import { FramedImage, FramedVideoStill } from "@/components/ui/media-frame";
import { buttonClass } from "@/components/ui/styles";

export interface MediaContext {
  jobId: string;
  /** Every media output of the run, for an edit's before/after. */
  all: StepMedia[];
  /** width / height of the run's media. */
  aspect: number;
  /** Puts an image into the form as the next run's input; absent where there is no form. */
  onUseAsInput?: ((media: StepMedia) => void) | undefined;
}

/** A step's output, shown at a size to judge it; a click opens it large. */
export function MediaThumb({ media, context, className = "w-40 sm:w-48" }: { media: StepMedia; context: MediaContext; className?: string }) {
  const [open, setOpen] = useState(false);
  const src = mediaSrc(media.url);
  const label = `Output of ${media.stepLabel}`;
  return (
    <>
      <button
        type="button"
        onClick={() => setOpen(true)}
        className={`group relative block shrink-0 rounded-xl text-left ${className}`}
        aria-label={`Open the ${media.kind} from “${media.stepLabel}” large`}
        data-testid={`step-${media.step}-output`}
      >
        {media.kind === "image" ? <FramedImage src={src} alt={label} aspect={context.aspect} /> : <FramedVideoStill src={src} label={label} aspect={context.aspect} />}
        <span aria-hidden className="absolute bottom-1.5 right-1.5 rounded-md bg-slate-950 p-1 text-slate-100 opacity-90 group-hover:opacity-100">
          <Maximize2 className="size-3.5" />
        </span>
      </button>
      {open && <MediaLightbox media={media} context={context} onClose={() => setOpen(false)} />}
    </>
  );
}

function MediaLightbox({ media, context, onClose }: { media: StepMedia; context: MediaContext; onClose: () => void }) {
  const src = mediaSrc(media.url);
  const before = imageBefore(context.all, media);
  const applyAsInput = context.onUseAsInput;
  return (
    <Lightbox
      title={media.stepLabel}
      onClose={onClose}
      actions={
        <>
          {applyAsInput && media.kind === "image" && (
            <button
              type="button"
              className={buttonClass("secondary", "sm")}
              onClick={() => {
                onClose();
                applyAsInput(media);
              }}
            >
              <ImageUp aria-hidden className="size-4" />
              Use as input
            </button>
          )}
          <a href={src} download={downloadName(context.jobId, media)} className={buttonClass("primary", "sm")}>
            <Download aria-hidden className="size-4" />
            Download
          </a>
        </>
      }
    >
      {before ? (
        <BeforeAfter before={before} after={media} aspect={context.aspect} />
      ) : media.kind === "image" ? (
        <img src={src} alt={`Output of ${media.stepLabel}`} className="mx-auto max-h-[65vh] rounded-xl object-contain" />
      ) : (
        <video src={src} controls playsInline className="mx-auto max-h-[65vh] rounded-xl" aria-label={`Output of ${media.stepLabel}`} />
      )}
    </Lightbox>
  );
}
