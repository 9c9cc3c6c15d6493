import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { getSessionUser } from "@/lib/auth/page-session";
import { AuthCard } from "@/components/auth/auth-card";
import { safeReturnPath } from "@/components/auth/return-path";
import { SignUpForm } from "@/components/auth/sign-up-form";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Create an account" };

export default async function SignUpPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeReturnPath(params.callbackUrl);
  if (await getSessionUser(runtime())) redirect(callbackUrl);
  return (
    <AuthCard
      title="Create an account"
      subtitle="Run AI workflows on your images and follow every step."
      footer={
        <>
          Already have an account?{" "}
          <Link href={`/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`} className="font-medium text-amber-300 underline underline-offset-2 hover:text-amber-200">
            Sign in
          </Link>
        </>
      }
    >
      <SignUpForm callbackUrl={callbackUrl} />
    </AuthCard>
  );
}
