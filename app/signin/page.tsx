import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { getSessionUser } from "@/lib/auth/page-session";
import { githubEnabled } from "@/lib/auth/next-auth";
import { AuthCard } from "@/components/auth/auth-card";
import { safeReturnPath } from "@/components/auth/return-path";
import { SignInForm } from "@/components/auth/sign-in-form";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeReturnPath(params.callbackUrl);
  if (await getSessionUser(runtime())) redirect(callbackUrl);
  const error = typeof params.error === "string" ? params.error : null;
  return (
    <AuthCard
      title="Sign in"
      subtitle="Sign in to run workflows and see your runs."
      footer={
        <>
          New here?{" "}
          <Link href={`/signup?callbackUrl=${encodeURIComponent(callbackUrl)}`} className="font-medium text-amber-300 underline underline-offset-2 hover:text-amber-200">
            Create an account
          </Link>
        </>
      }
    >
      <SignInForm callbackUrl={callbackUrl} github={githubEnabled(runtime().config)} initialError={error} />
    </AuthCard>
  );
}
