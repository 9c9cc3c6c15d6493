"use client";

import { Download } from "lucide-react";
import { downloadName, mediaSrc } from "@/components/jobs/media";
import { MediaThumb, type MediaContext } from "@/components/jobs/media-viewer";
import { cardClass } from "@/components/ui/styles";

/** Every output of the run as media: each step's image or video, to open large or download. */
export function RunOutputs({ media }: { media: MediaContext }) {
  if (media.all.length === 0) return null;
  return (
    <section className={`${cardClass} p-5`} aria-labelledby="run-outputs">
      <h2 id="run-outputs" className="text-sm font-semibold text-slate-100">
        Outputs
      </h2>
      <ul className="mt-4 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        {media.all.map((item) => (
          <li key={`${item.step}-${item.key}`} className="space-y-2" data-testid="output-card">
            <MediaThumb media={item} context={media} className="w-full" />
            <div className="flex items-center justify-between gap-2">
              <p className="min-w-0 truncate text-sm text-slate-200">
                {item.step + 1}. {item.stepLabel} <span className="text-slate-400">· {item.kind}</span>
              </p>
              <a href={mediaSrc(item.url)} download={downloadName(media.jobId, item)} className="inline-flex shrink-0 items-center gap-1 rounded text-sm text-amber-300 hover:text-amber-200">
                <Download aria-hidden className="size-4" />
                Download
              </a>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
