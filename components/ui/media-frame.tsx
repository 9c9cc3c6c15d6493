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
        <div aria-hidden className="absolute inset-0 flex items-center justify-center bg-slate-800 text-xs text-slate-200">
          {/* Only the backdrop pulses: the label keeps its full contrast. */}
          <div className="absolute inset-0 animate-pulse bg-slate-700 motion-reduce:animate-none" />
          <span className="relative">{label ?? "Loading…"}</span>
        </div>
      )}
      {children}
    </div>
  );
}

/** An image in a MediaFrame. */
export function FramedImage({
  src,
  alt,
  aspect,
  className,
  fit = "contain",
  loading = "lazy",
}: {
  src: string;
  alt: string;
  aspect: number;
  className?: string;
  fit?: "contain" | "cover";
  /** "eager" for images that are the page's content from the first screen. */
  loading?: "lazy" | "eager";
}) {
  const [loaded, setLoaded] = useState(false);
  return (
    <MediaFrame aspect={aspect} loaded={loaded} {...(className !== undefined && { className })}>
      <img
        src={src}
        alt={alt}
        loading={loading}
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
