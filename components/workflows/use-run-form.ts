"use client";

import { useCallback, useState } from "react";
import type { ExecutionDetails, Workflow } from "@/components/api/types";
import { mediaSrc, type StepMedia } from "@/components/jobs/media";
import { extraImageInputsOf } from "@/components/workflows/extra-image-inputs";
import type { PickedImage } from "@/components/workflows/image-dropzone";
import { defaultText } from "@/components/workflows/input-checks";
import { modelField } from "@/components/workflows/model-choices";
import { extraImagesRefillProblem, fileNameOf, jobImageUrl } from "@/components/workflows/refill";
import { NO_RUN_OPTIONS, type RunOptions } from "@/components/workflows/run-options";

/** The form's starting values: each input's default, and each model choice's default (`models[<step>]`). */
function defaultsOf(workflow: Workflow): Record<string, string> {
  return {
    ...Object.fromEntries(workflow.inputs.filter((input) => input.type !== "image").map((input) => [input.name, defaultText(input)])),
    ...Object.fromEntries(workflow.steps.filter((step) => step.models && step.model).map((step) => [modelField(step.name), step.model!])),
  };
}

async function fetchFile(url: string, name: string): Promise<File> {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`The image could not be loaded (${response.status}).`);
  const blob = await response.blob();
  return new File([blob], name, { type: blob.type });
}

/** A job's image for an extra image input, named as it was sent; null when the job was sent none there (404). */
async function fetchJobImage(url: string, fallbackName: string): Promise<File | null> {
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`The image could not be loaded (${response.status}).`);
  const blob = await response.blob();
  return new File([blob], fileNameOf(response.headers.get("content-disposition"), fallbackName), { type: blob.type });
}

/**
 * The new-run form's state: the workflow, the image and the inputs (kept per workflow, so switching
 * back and forth loses nothing), and the two ways to fill it from an earlier run: Run again (its
 * inputs and its images, which the server keeps: GET /jobs/<id>/input for its upload and
 * GET /jobs/<id>/input/<field> for each extra image) and Use as input (one of its output images).
 */
export function useRunForm(workflows: Workflow[] | undefined, initialWorkflowId: string | null) {
  const [chosenWorkflowId, setWorkflowId] = useState<string | null>(initialWorkflowId);
  const [image, setImage] = useState<PickedImage | null>(null);
  // A workflow's extra image inputs (after the first), by workflow and field.
  const [extraByWorkflow, setExtraByWorkflow] = useState<Record<string, Record<string, PickedImage | null>>>({});
  const [valuesByWorkflow, setValuesByWorkflow] = useState<Record<string, Record<string, string>>>({});
  const [fillError, setFillError] = useState<string | null>(null);
  const [extraFillError, setExtraFillError] = useState<string | null>(null);
  const [optionsByWorkflow, setOptionsByWorkflow] = useState<Record<string, RunOptions>>({});

  // Until one is chosen the first installed workflow is, so the form is ready at once; an unknown id from the URL is dropped.
  const workflowId =
    !workflows || (chosenWorkflowId && workflows.some((workflow) => workflow.id === chosenWorkflowId)) ? chosenWorkflowId : (workflows[0]?.id ?? null);
  const selected = workflows?.find((workflow) => workflow.id === workflowId);
  const values = selected ? (valuesByWorkflow[selected.id] ?? defaultsOf(selected)) : {};

  const options = selected ? (optionsByWorkflow[selected.id] ?? NO_RUN_OPTIONS) : NO_RUN_OPTIONS;
  const setOptions = (next: RunOptions) => {
    if (selected) setOptionsByWorkflow((all) => ({ ...all, [selected.id]: next }));
  };

  const setValue = (name: string, value: string) => {
    if (selected) setValuesByWorkflow((all) => ({ ...all, [selected.id]: { ...values, [name]: value } }));
  };

  const extraImages = selected ? (extraByWorkflow[selected.id] ?? {}) : {};
  const selectedId = selected?.id;
  // Functional: a file's checks report after it was picked, and must not undo a pick of another field meanwhile.
  const setExtraImage = useCallback(
    (name: string, value: PickedImage | null) => {
      if (selectedId) setExtraByWorkflow((all) => ({ ...all, [selectedId]: { ...all[selectedId], [name]: value } }));
    },
    [selectedId],
  );

  const pickFile = useCallback((file: File) => setImage({ file, ok: false, error: null }), []);

  /** Run again: the run's workflow, its inputs, its upload and its extra images. Resolves with how many images it put back. */
  const fillFrom = useCallback(
    async (details: ExecutionDetails): Promise<number> => {
      const { job } = details;
      const workflow = workflows?.find((candidate) => candidate.id === job.workflow_id);
      setFillError(null);
      setExtraFillError(null);
      setWorkflowId(job.workflow_id);
      if (workflow) setValuesByWorkflow((all) => ({ ...all, [workflow.id]: { ...defaultsOf(workflow), ...job.inputs, ...Object.fromEntries(Object.entries(job.models).map(([step, model]) => [modelField(step), model])) } }));
      const extras = workflow ? extraImageInputsOf(workflow) : [];
      const [upload, ...extraFiles] = await Promise.allSettled([
        job.input_file ? fetchFile(jobImageUrl(job.id), job.input_file.filename) : Promise.resolve(null),
        ...extras.map((input) => fetchJobImage(jobImageUrl(job.id, input.name), input.name)),
      ]);
      if (upload.status === "fulfilled" && upload.value) pickFile(upload.value);
      if (upload.status === "rejected") setFillError(`${upload.reason instanceof Error ? upload.reason.message : "The image could not be loaded."} Add it again to run.`);
      // The run's extra images replace whatever the form held: one the run was not sent is left empty.
      if (workflow && extras.length > 0) {
        const picked = Object.fromEntries(extras.map((input, index) => {
          const result = extraFiles[index]!;
          return [input.name, result.status === "fulfilled" && result.value ? { file: result.value, ok: false, error: null } : null];
        }));
        setExtraByWorkflow((all) => ({ ...all, [workflow.id]: picked }));
        setExtraFillError(extraImagesRefillProblem(extras.filter((_input, index) => extraFiles[index]!.status === "rejected").map((input) => input.label)));
      }
      return [upload, ...extraFiles].filter((result) => result.status === "fulfilled" && result.value !== null).length;
    },
    [workflows, pickFile],
  );

  /** Use as input: an output image becomes the next run's image. */
  const takeOutput = useCallback(
    async (media: StepMedia, jobId: string) => {
      setFillError(null);
      const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(media.url)?.[1] ?? "png";
      try {
        pickFile(await fetchFile(mediaSrc(media.url), `montage-${jobId.slice(0, 8)}-step-${media.step + 1}.${extension}`));
      } catch (error) {
        setFillError(error instanceof Error ? error.message : "The image could not be loaded.");
      }
    },
    [pickFile],
  );

  return { workflowId, selected, values, setValue, options, setOptions, chooseWorkflow: setWorkflowId, image, setImage, extraImages, setExtraImage, pickFile, fillFrom, takeOutput, fillError, extraFillError };
}

export type RunFormState = ReturnType<typeof useRunForm>;
