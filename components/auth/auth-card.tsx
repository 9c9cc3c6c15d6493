import type { ReactNode } from "react";
import { cardClass } from "@/components/ui/styles";

export function AuthCard({ title, subtitle, children, footer }: { title: string; subtitle: string; children: ReactNode; footer: ReactNode }) {
  return (
    <div className="mx-auto w-full max-w-sm py-6 sm:py-10">
      <div className={`${cardClass} p-6 sm:p-8`}>
        <h1 className="text-xl font-semibold text-white">{title}</h1>
        <p className="mt-1 text-sm text-slate-400">{subtitle}</p>
        <div className="mt-6">{children}</div>
      </div>
      <p className="mt-4 text-center text-sm text-slate-400">{footer}</p>
    </div>
  );
}
