/**
 * Shared class lists, so buttons and cards look and behave the same everywhere.
 *
 * Contrast (WCAG AA, checked by axe-core in every browser test): text is at least 4.5:1 against the
 * darkest background it sits on (slate-950, and slate-900 cards). The smallest grey is slate-400
 * (7.4:1 on slate-950); slate-500 (4.2:1) and translucent text colours are not used for text.
 */

const buttonBase =
  "inline-flex items-center justify-center gap-2 rounded-lg font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-400";

const buttonVariants = {
  primary: "bg-amber-500 text-slate-950 hover:bg-amber-400 disabled:hover:bg-amber-500",
  secondary: "border border-slate-700 bg-slate-800 text-slate-100 hover:bg-slate-700",
  ghost: "text-slate-300 hover:bg-slate-800 hover:text-white",
  danger: "border border-red-500/40 bg-red-950 text-red-200 hover:bg-red-900",
} as const;

const buttonSizes = { sm: "h-8 px-3 text-sm", md: "h-10 px-4 text-sm", lg: "h-12 px-6 text-base" } as const;

export function buttonClass(variant: keyof typeof buttonVariants = "primary", size: keyof typeof buttonSizes = "md"): string {
  return `${buttonBase} ${buttonVariants[variant]} ${buttonSizes[size]}`;
}

export const cardClass = "rounded-2xl border border-slate-800 bg-slate-900";

export const inputClass =
  "block w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 text-sm text-slate-100 placeholder:text-slate-400 focus-visible:border-amber-400 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-amber-400/60 aria-[invalid=true]:border-red-500";

export const labelClass = "block text-sm font-medium text-slate-200";

/** Secondary text: hints, timestamps, captions. */
export const mutedTextClass = "text-slate-400";
