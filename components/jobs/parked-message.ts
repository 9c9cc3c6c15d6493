import { attemptLabel, type Attempts } from "@/lib/jobs/attempts";

/**
 * What a parked run tells the person, per reason, in their words: what is happening, and what they
 * can do about it. The provider's own message stays available as a technical detail. Pure, so each
 * reason's wording is unit-tested.
 */
export interface ParkedMessage {
  title: string;
  /** What happened. */
  body: string;
  /** What happens next and what the person can do. */
  advice: string;
  /** Whether pressing Retry now can help before the automatic retry. */
  retryHelps: boolean;
}

export interface ParkedFacts {
  /** The reason of the retry_scheduled event / the job's error_code: quota, rate_limit, outage, auth, timeout. */
  reason: string | null;
  /** "the model provider" for a generation step, "the storage service" for an upload. */
  service: string;
  /** The next automatic retry as the reader's clock shows it ("14:05:09"), or null when none is set. */
  nextRetryAt: string | null;
  attempts: Attempts;
}

export function parkedMessage({ reason, service, nextRetryAt, attempts }: ParkedFacts): ParkedMessage {
  const at = nextRetryAt ? ` at ${nextRetryAt}` : " shortly";
  const next = attempts.next !== null ? ` That will be ${attemptLabel(attempts.next, attempts.limit)}.` : "";
  switch (reason) {
    case "quota":
      return {
        title: `${capitalize(service)} is out of credit`,
        body: `It refused this step because the account has insufficient credit.`,
        advice: `Top up the account's credit, then press Retry now. Montage also tries again by itself${at}, but that cannot succeed before the top-up.${next}`,
        retryHelps: true,
      };
    case "rate_limit":
      return {
        title: `Waiting for ${service}`,
        body: `It is taking runs a few at a time right now.`,
        advice: `This run resumes by itself${at}; there is nothing you need to do.${next}`,
        retryHelps: false,
      };
    case "outage":
      return {
        title: `${capitalize(service)} is unavailable`,
        body: `It did not answer this step (a temporary outage on its side).`,
        advice: `Montage tries again by itself${at}, or press Retry now to try at once.${next}`,
        retryHelps: true,
      };
    case "auth":
      return {
        title: `Montage cannot sign in to ${service}`,
        body: `It refused Montage's access key.`,
        advice: `Whoever runs this Montage needs to renew the key for ${service}; then press Retry now. Until then, the automatic retries${at} cannot succeed.${next}`,
        retryHelps: true,
      };
    case "timeout":
      return {
        title: `${capitalize(service)} took too long`,
        body: `This step did not finish in time.`,
        advice: `Montage tries again by itself${at}, or press Retry now to try at once.${next}`,
        retryHelps: true,
      };
    default:
      return {
        title: "This step is paused",
        body: `It failed in a way that usually passes by itself.`,
        advice: `Montage tries again by itself${at}, or press Retry now.${next}`,
        retryHelps: true,
      };
  }
}

/** "the model provider" or "the storage service": who a step waits for, by the step's type. */
export function serviceOf(stepType: string): string {
  return stepType === "input" ? "the storage service" : "the model provider";
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
