"use client";

import { useEffect } from "react";
import { buttonClass } from "@/components/ui/styles";

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    // The server logged the details; the digest ties this screen to that log line.
    if (error.digest) document.title = `Error ${error.digest} · Montage`;
  }, [error]);
  return (
    <div role="alert" className="mx-auto max-w-md py-16 text-center">
      <h1 className="text-2xl font-semibold text-white">Something went wrong</h1>
      <p className="mt-2 text-sm text-slate-400">
        The page could not be shown. Try again; if it keeps happening, the server log has the details{error.digest ? ` (reference ${error.digest})` : ""}.
      </p>
      <button type="button" className={`${buttonClass("primary")} mt-6`} onClick={reset}>
        Try again
      </button>
    </div>
  );
}
