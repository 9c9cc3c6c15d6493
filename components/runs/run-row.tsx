"use client";

import Link from "next/link";
import { ChevronRight } from "lucide-react";
import type { Job, Workflow } from "@/components/api/types";
import { isActiveStatus } from "@/components/jobs/job-state";
import { mediaSrc, resultMedia, runAspect } from "@/components/jobs/media";
import { chosenModelsNote } from "@/components/runs/run-models";
import { firstWords, runPrompt } from "@/components/runs/run-title";
import { FramedImage, FramedVideoStill } from "@/components/ui/media-frame";
import { runCostLabel } from "@/components/ui/money";
import { StatusBadge } from "@/components/ui/status-badge";
import { formatDuration, RelativeTime } from "@/components/ui/time";

/** The result once there is one (a video's first frame, or the image); until then the image the run started from. */
function Thumbnail({ job }: { job: Job }) {
  const result = resultMedia(job.result);
  const aspect = runAspect(job);
  const className = "w-24 shrink-0 sm:w-32";
  if (result?.kind === "video") return <FramedVideoStill src={mediaSrc(result.url)} label="" aspect={aspect} className={className} />;
  if (result?.kind === "image") return <FramedImage src={mediaSrc(result.url)} alt="" aspect={aspect} className={className} fit="cover" />;
  if (job.input_file) return <FramedImage src={`/jobs/${job.id}/input`} alt="" aspect={aspect} className={className} fit="cover" />;
  return <span aria-hidden className={`${className} aspect-[4/3] rounded-xl border border-slate-800 bg-slate-800`} />;
}

/** What a run is searched by: its prompt, its workflow's name and its file's name. */
export function runSearchText(job: Job, workflow: Workflow | undefined): string {
  return [runPrompt(job, workflow), workflow?.name ?? job.workflow_id, job.input_file?.filename].filter(Boolean).join(" ").toLowerCase();
}

/** One run: thumbnail, the prompt's first words, its workflow, the models it chose other than the defaults, status, when, how long it took, its cost, its lineage (the run it reruns, its reruns among those loaded). */
export function RunRow({ job, workflow, reruns = 0, selection }: { job: Job; workflow: Workflow | undefined; reruns?: number; selection?: { selected: boolean; onToggle(): void } }) {
  const prompt = runPrompt(job, workflow);
  const name = workflow?.name ?? job.workflow_id;
  const models = chosenModelsNote(job, workflow);
  const duration = job.completed_at ? formatDuration(new Date(job.completed_at).getTime() - new Date(job.created_at).getTime()) : null;
  return (
    <li className="flex items-center gap-3">
      {selection && (
        <input
          type="checkbox"
          checked={selection.selected}
          onChange={selection.onToggle}
          aria-label={`Select the run “${prompt ? firstWords(prompt) : name}”`}
          data-testid="run-select"
          className="size-5 shrink-0 accent-amber-400"
        />
      )}
      <Link
        href={`/runs/${job.id}`}
        data-testid="run-row"
        data-job-id={job.id}
        className="group flex min-w-0 flex-1 items-center gap-4 rounded-2xl border border-slate-800 bg-slate-900 p-3 transition-colors hover:border-slate-600"
      >
        <Thumbnail job={job} />
        <span className="min-w-0 flex-1 space-y-1">
          <span className="flex flex-wrap items-center gap-2">
            <span className="min-w-0 truncate font-medium text-slate-100">{prompt ? firstWords(prompt) : name}</span>
            <StatusBadge status={job.status} />
          </span>
          <span className="block text-xs text-slate-300">
            {prompt && <span>{name} · </span>}
            {models && <span data-testid="run-row-models">with {models} · </span>}
            <RelativeTime iso={job.created_at} />
            {duration && <span> · took {duration}</span>}
            {isActiveStatus(job.status) && <span> · {job.progress}%</span>}
            <span data-testid="run-cost"> · {runCostLabel(job)}</span>
            {reruns > 0 && <span data-testid="run-row-reruns"> · {reruns === 1 ? "1 rerun" : `${reruns} reruns`}</span>}
          </span>
          {job.parent_job_id && (
            <span className="block text-xs text-amber-200" data-testid="run-row-lineage">
              Rerun of run {job.parent_job_id.slice(0, 8)} from {workflow?.steps[job.rerun_from_step ?? 0]?.label ?? `step ${(job.rerun_from_step ?? 0) + 1}`}
            </span>
          )}
          {job.error && job.status === "failed" && <span className="block truncate text-xs text-red-300">{job.error}</span>}
        </span>
        <ChevronRight aria-hidden className="size-5 shrink-0 text-slate-400 group-hover:text-slate-200" />
      </Link>
    </li>
  );
}
