"use client";

import { useState, type ReactNode } from "react";

/**
 * A box of the media's own proportions that shows a placeholder until the media has loaded, so the
 * page does not jump and nothing shows as a bare black box meanwhile. `aspect` is width / height.
 */
export function MediaFrame({
  aspect,
  loaded,
  className = "",
  children,
  label,
}: {
  aspect: number;
  loaded: boolean;
  className?: string;
  children: ReactNode;
  /** Shown in the placeholder while loading. */
  label?: string;
}) {
  return (
    <div className={`relative overflow-hidden rounded-xl border border-slate-800 bg-slate-900 ${className}`} style={{ aspectRatio: String(aspect) }} data-loaded={loaded}>
      {!loaded && (
        <div aria-hidden className="absolute inset-0 flex animate-pulse items-center justify-center bg-slate-800 text-xs text-slate-300 motion-reduce:animate-none">
          {label ?? "Loading…"}
        </div>
      )}
      {children}
    </div>
  );
}

/** An image in a MediaFrame. */
export function FramedImage({ src, alt, aspect, className, fit = "contain" }: { src: string; alt: string; aspect: number; className?: string; fit?: "contain" | "cover" }) {
  const [loaded, setLoaded] = useState(false);
  return (
    <MediaFrame aspect={aspect} loaded={loaded} {...(className !== undefined && { className })}>
      <img
        src={src}
        alt={alt}
        loading="lazy"
        decoding="async"
        onLoad={() => setLoaded(true)}
        // A broken image still ends the placeholder: the alt text then says what was meant.
        onError={() => setLoaded(true)}
        className={`size-full ${fit === "cover" ? "object-cover" : "object-contain"} transition-opacity ${loaded ? "opacity-100" : "opacity-0"}`}
      />
    </MediaFrame>
  );
}

/** A video's first frame as a still (only metadata and one frame are fetched), in a MediaFrame. */
export function FramedVideoStill({ src, label, aspect, className }: { src: string; label: string; aspect: number; className?: string }) {
  const [loaded, setLoaded] = useState(false);
  return (
    <MediaFrame aspect={aspect} loaded={loaded} {...(className !== undefined && { className })}>
      <video
        src={`${src}#t=0.1`}
        muted
        playsInline
        preload="metadata"
        aria-label={label}
        tabIndex={-1}
        onLoadedData={() => setLoaded(true)}
        onError={() => setLoaded(true)}
        className="size-full object-contain"
      />
    </MediaFrame>
  );
}
