"use client";

import { useState } from "react";
import { ArrowRight } from "lucide-react";
import type { Example } from "@/lib/examples/manifest";
import { FramedImage, MediaFrame } from "@/components/ui/media-frame";
import { useReducedMotion } from "@/components/ui/use-reduced-motion";

function ExampleVideo({ example }: { example: Example }) {
  const reducedMotion = useReducedMotion();
  const [loaded, setLoaded] = useState(false);
  return (
    <MediaFrame aspect={example.width / example.height} loaded={loaded} className="bg-black">
      <video
        // Remounted when the preference is known, so autoplay follows it from the first frame.
        key={String(reducedMotion)}
        src={example.video}
        muted
        playsInline
        loop={!reducedMotion}
        autoPlay={!reducedMotion}
        controls={reducedMotion}
        preload="metadata"
        aria-label={`Video made from the edited image: ${example.videoPrompt}`}
        onLoadedData={() => setLoaded(true)}
        className="size-full object-contain"
      />
    </MediaFrame>
  );
}

/** What Montage makes: examples the local models made from synthetic scenes at build time. */
export function Examples({ examples }: { examples: Example[] }) {
  if (examples.length === 0) return null;
  return (
    <section aria-labelledby="examples-title" className="space-y-4" data-testid="examples">
      <div>
        <h2 id="examples-title" className="text-lg font-semibold text-white">
          What Montage makes
        </h2>
        <p className="mt-1 text-sm text-slate-300">An image, an edit described in words, then a video. Made on this server by Montage&apos;s built-in models.</p>
      </div>
      <ul className="grid gap-4 md:grid-cols-3">
        {examples.map((example) => (
          <li key={example.id} className="space-y-3 rounded-2xl border border-slate-800 bg-slate-900 p-3">
            <ExampleVideo example={example} />
            <div className="flex items-center gap-2">
              <FramedImage src={example.before} alt={`${example.title}: the original image`} aspect={example.width / example.height} className="w-full" loading="eager" />
              <ArrowRight aria-hidden className="size-4 shrink-0 text-slate-400" />
              <FramedImage src={example.after} alt={`${example.title}: edited, “${example.editPrompt}”`} aspect={example.width / example.height} className="w-full" loading="eager" />
            </div>
            <div>
              <p className="text-sm font-medium text-slate-100">{example.title}</p>
              <p className="mt-0.5 text-xs text-slate-300">
                “{example.editPrompt}”, then “{example.videoPrompt}”
              </p>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
