"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { formText } from "@/components/auth/form-text";
import { useId, useState, type FormEvent } from "react";
import { errorMessage, postJson } from "@/components/api/client";
import { Spinner } from "@/components/ui/states";
import { buttonClass, inputClass, labelClass } from "@/components/ui/styles";

const MIN_PASSWORD = 8;

export function SignUpForm({ callbackUrl }: { callbackUrl: string }) {
  const router = useRouter();
  const nameId = useId();
  const emailId = useId();
  const passwordId = useId();
  const passwordHintId = useId();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = formText(form, "email").trim();
    const password = formText(form, "password");
    const name = formText(form, "name").trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      setError("Enter a valid email address.");
      return;
    }
    if (password.length < MIN_PASSWORD) {
      setError(`Use a password of at least ${MIN_PASSWORD} characters.`);
      return;
    }
    setPending(true);
    setError(null);
    try {
      await postJson("/api/signup", { email, password, ...(name && { name }) });
    } catch (failure) {
      setPending(false);
      setError(errorMessage(failure).replace(/^(email|password|name): /, ""));
      return;
    }
    const result = await signIn("credentials", { email, password, redirect: false }).catch(() => undefined);
    if (!result?.ok) {
      // The account exists: let the person sign in by hand.
      router.push(`/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`);
      return;
    }
    router.replace(callbackUrl);
    router.refresh();
  };

  return (
    <form onSubmit={(event) => void onSubmit(event)} className="space-y-4" noValidate>
      <div className="space-y-1.5">
        <label htmlFor={nameId} className={labelClass}>
          Name <span className="font-normal text-slate-400">(optional)</span>
        </label>
        <input id={nameId} name="name" type="text" autoComplete="name" maxLength={80} className={inputClass} />
      </div>
      <div className="space-y-1.5">
        <label htmlFor={emailId} className={labelClass}>
          Email
        </label>
        <input id={emailId} name="email" type="email" autoComplete="email" required className={inputClass} />
      </div>
      <div className="space-y-1.5">
        <label htmlFor={passwordId} className={labelClass}>
          Password
        </label>
        <input
          id={passwordId}
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD}
          aria-describedby={passwordHintId}
          className={inputClass}
        />
        <p id={passwordHintId} className="text-xs text-slate-400">
          At least {MIN_PASSWORD} characters.
        </p>
      </div>
      <p role="alert" className="min-h-5 text-sm text-red-300">
        {error ?? ""}
      </p>
      <button type="submit" className={`${buttonClass("primary")} w-full`} disabled={pending}>
        {pending && <Spinner />}
        Create account
      </button>
    </form>
  );
}
