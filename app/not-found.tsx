import Link from "next/link";
import { SearchX } from "lucide-react";
import { buttonClass } from "@/components/ui/styles";

export default function NotFound() {
  return (
    <div className="mx-auto flex max-w-md flex-col items-center py-16 text-center">
      <span aria-hidden className="flex size-14 items-center justify-center rounded-full bg-slate-800 text-slate-300">
        <SearchX className="size-7" />
      </span>
      <h1 className="mt-6 text-2xl font-semibold text-white">Not found</h1>
      <p className="mt-2 text-sm text-slate-400">This page or run does not exist, or it belongs to another account.</p>
      <div className="mt-6 flex gap-3">
        <Link href="/runs" className={buttonClass("secondary")}>
          Your runs
        </Link>
        <Link href="/" className={buttonClass("primary")}>
          Home
        </Link>
      </div>
    </div>
  );
}
