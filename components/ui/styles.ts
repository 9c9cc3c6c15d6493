/** Shared class lists, so buttons and cards look and behave the same everywhere. */

const buttonBase =
  "inline-flex items-center justify-center gap-2 rounded-lg font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-400";

const buttonVariants = {
  primary: "bg-amber-500 text-slate-950 hover:bg-amber-400 disabled:hover:bg-amber-500",
  secondary: "border border-slate-700 bg-slate-800/70 text-slate-100 hover:bg-slate-700/70",
  ghost: "text-slate-300 hover:bg-slate-800 hover:text-white",
  danger: "border border-red-500/40 bg-red-500/10 text-red-200 hover:bg-red-500/20",
} as const;

const buttonSizes = { sm: "h-8 px-3 text-sm", md: "h-10 px-4 text-sm", lg: "h-12 px-6 text-base" } as const;

export function buttonClass(variant: keyof typeof buttonVariants = "primary", size: keyof typeof buttonSizes = "md"): string {
  return `${buttonBase} ${buttonVariants[variant]} ${buttonSizes[size]}`;
}

export const cardClass = "rounded-2xl border border-slate-800 bg-slate-900/60";

export const inputClass =
  "block w-full rounded-lg border border-slate-700 bg-slate-950/60 px-3 py-2 text-sm text-slate-100 placeholder:text-slate-500 focus-visible:border-amber-400 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-amber-400/60 aria-[invalid=true]:border-red-500";

export const labelClass = "block text-sm font-medium text-slate-200";
