"use client";

import { useEffect, useId, useRef, type ReactNode } from "react";
import { X } from "lucide-react";
import { buttonClass } from "@/components/ui/styles";

/**
 * A large view over the page: a modal <dialog>, so focus is held inside, Escape closes it and the
 * page behind is inert, all by the browser.
 */
export function Lightbox({ title, onClose, children, actions }: { title: string; onClose: () => void; children: ReactNode; actions?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    dialog.showModal();
    return () => dialog.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={onClose}
      onClick={(event) => {
        // A click on the backdrop (the dialog itself, outside its content) closes it.
        if (event.target === event.currentTarget) onClose();
      }}
      className="m-auto w-[min(64rem,calc(100vw-2rem))] max-w-none rounded-2xl border border-slate-700 bg-slate-950 p-0 text-slate-100 backdrop:bg-slate-950/85"
      data-testid="lightbox"
    >
      <div className="flex items-center justify-between gap-3 border-b border-slate-800 px-4 py-3">
        <h2 id={titleId} className="min-w-0 truncate text-sm font-semibold">
          {title}
        </h2>
        <button type="button" className={buttonClass("ghost", "sm")} onClick={onClose} aria-label="Close">
          <X aria-hidden className="size-4" />
        </button>
      </div>
      <div className="max-h-[75vh] overflow-auto p-4">{children}</div>
      {actions && <div className="flex flex-wrap justify-end gap-2 border-t border-slate-800 px-4 py-3">{actions}</div>}
    </dialog>
  );
}
