import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { getSessionUser } from "@/lib/auth/page-session";
import { Providers } from "@/components/layout/providers";
import { SiteHeader } from "@/components/layout/site-header";
import "./globals.css";
import { runtime } from "@/lib/server/runtime";

export const metadata: Metadata = {
  title: { default: "Montage", template: "%s · Montage" },
  description: "Multi-step AI media workflows: drop an image, watch it become a video.",
};

export const viewport: Viewport = { themeColor: "#020617", colorScheme: "dark" };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const user = await getSessionUser(runtime());
  return (
    <html lang="en">
      <body className="flex min-h-screen flex-col bg-slate-950 font-sans text-slate-100 antialiased">
        <a
          href="#main"
          className="sr-only z-50 rounded-lg bg-amber-500 px-4 py-2 font-medium text-slate-950 focus:not-sr-only focus:fixed focus:left-4 focus:top-4"
        >
          Skip to content
        </a>
        <SiteHeader user={user} />
        <Providers>
          <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-8 outline-none sm:px-6 sm:py-10">
            {children}
          </main>
        </Providers>
        <footer className="border-t border-slate-800/80">
          <div className="mx-auto flex max-w-6xl flex-wrap justify-between gap-2 px-4 py-6 text-xs text-slate-400 sm:px-6">
            <p>Montage · multi-step AI media workflows</p>
            <a href="/api/openapi.json" className="rounded hover:text-slate-300">
              API reference (OpenAPI)
            </a>
          </div>
        </footer>
      </body>
    </html>
  );
}
