"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { formText } from "@/components/auth/form-text";
import { GitHubMark } from "@/components/auth/github-mark";
import { Spinner } from "@/components/ui/states";
import { buttonClass, inputClass, labelClass } from "@/components/ui/styles";

const ERRORS: Record<string, string> = {
  CredentialsSignin: "The email or password is incorrect.",
  OAuthAccountNotLinked: "An account with this email already exists. Sign in with your password.",
  AccessDenied: "Sign-in was refused.",
  Configuration: "Sign-in is misconfigured on the server. Check its log.",
  RateLimited: "Too many sign-in attempts. Wait a minute, then try again.",
  ServerBusy: "The server is busy checking other sign-ins. Try again in a few seconds.",
};

function describeError(code: string | null): string | null {
  if (!code) return null;
  return ERRORS[code] ?? "Sign-in failed. Please try again.";
}

export function SignInForm({ callbackUrl, github, initialError }: { callbackUrl: string; github: boolean; initialError: string | null }) {
  const router = useRouter();
  const emailId = useId();
  const passwordId = useId();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(describeError(initialError));

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = formText(form, "email").trim();
    const password = formText(form, "password");
    if (!email || !password) {
      setError("Enter your email and password.");
      return;
    }
    setPending(true);
    setError(null);
    const result = await signIn("credentials", { email, password, redirect: false }).catch(() => undefined);
    if (!result?.ok) {
      setPending(false);
      setError(describeError(result?.error ?? "Unknown"));
      return;
    }
    router.replace(callbackUrl);
    router.refresh();
  };

  return (
    <div className="space-y-5">
      <form onSubmit={(event) => void onSubmit(event)} className="space-y-4" noValidate>
        <div className="space-y-1.5">
          <label htmlFor={emailId} className={labelClass}>
            Email
          </label>
          <input id={emailId} name="email" type="email" autoComplete="email" required className={inputClass} aria-invalid={error ? true : undefined} />
        </div>
        <div className="space-y-1.5">
          <label htmlFor={passwordId} className={labelClass}>
            Password
          </label>
          <input id={passwordId} name="password" type="password" autoComplete="current-password" required className={inputClass} aria-invalid={error ? true : undefined} />
        </div>
        <p role="alert" className="min-h-5 text-sm text-red-300">
          {error ?? ""}
        </p>
        <button type="submit" className={`${buttonClass("primary")} w-full`} disabled={pending}>
          {pending && <Spinner />}
          Sign in
        </button>
      </form>
      {github && (
        <>
          <div className="flex items-center gap-3 text-xs text-slate-400" aria-hidden>
            <span className="h-px flex-1 bg-slate-800" />
            or
            <span className="h-px flex-1 bg-slate-800" />
          </div>
          <button type="button" className={`${buttonClass("secondary")} w-full`} onClick={() => void signIn("github", { callbackUrl })}>
            <GitHubMark />
            Continue with GitHub
          </button>
        </>
      )}
    </div>
  );
}
