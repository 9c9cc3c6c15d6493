import Link from "next/link";
import { History, KeyRound, LayoutGrid, Wallet, Zap } from "lucide-react";
import type { SessionUser } from "@/lib/auth/session";
import { NavLink } from "@/components/layout/nav-link";
import { SignOutButton } from "@/components/layout/sign-out-button";
import { buttonClass } from "@/components/ui/styles";

export function SiteHeader({ user }: { user: SessionUser | null }) {
  return (
    <header className="border-b border-slate-800/80 bg-slate-950/80 backdrop-blur">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3 sm:px-6">
        <Link href="/" className="flex items-center gap-2 rounded-lg text-base font-semibold tracking-tight text-white">
          <span aria-hidden className="flex size-8 items-center justify-center rounded-lg bg-amber-500 text-slate-950">
            <Zap className="size-4" />
          </span>
          Montage
        </Link>
        <nav aria-label="Main" className="order-3 -mx-1 flex w-full gap-1 overflow-x-auto px-1 sm:order-none sm:w-auto sm:flex-1">
          <NavLink href="/">
            <LayoutGrid aria-hidden className="hidden size-4 sm:block" />
            Tools
          </NavLink>
          <NavLink href="/workflows">
            <Zap aria-hidden className="hidden size-4 sm:block" />
            Workflows
          </NavLink>
          {user && (
            <>
              <NavLink href="/runs">
                <History aria-hidden className="hidden size-4 sm:block" />
                Runs
              </NavLink>
              <NavLink href="/settings/budget">
                <Wallet aria-hidden className="hidden size-4 sm:block" />
                Budget
              </NavLink>
              <NavLink href="/settings/tokens">
                <KeyRound aria-hidden className="hidden size-4 sm:block" />
                API tokens
              </NavLink>
            </>
          )}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          {user ? (
            <>
              <span className="hidden max-w-48 truncate text-sm text-slate-400 md:inline" data-testid="signed-in-as" title={user.email}>
                {user.email}
              </span>
              <SignOutButton />
            </>
          ) : (
            <>
              <Link href="/signin" className={buttonClass("ghost", "sm")}>
                Sign in
              </Link>
              <Link href="/signup" className={buttonClass("primary", "sm")}>
                Sign up
              </Link>
            </>
          )}
        </div>
      </div>
    </header>
  );
}
