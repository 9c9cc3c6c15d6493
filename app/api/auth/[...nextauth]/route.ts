import NextAuth from "next-auth";
import type { NextRequest } from "next/server";
import { guardAuthPost } from "@/lib/auth/sign-in-guard";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

// The three-argument form, so the options (and the generated secret) are built on first request, not at build.
async function handler(request: NextRequest, context: { params: Promise<{ nextauth: string[] }> }): Promise<Response> {
  const rt = runtime();
  let forwarded = request;
  if (request.method === "POST") {
    const guarded = await guardAuthPost(rt, request, (await context.params).nextauth);
    if (guarded instanceof Response) return guarded;
    forwarded = guarded;
  }
  return NextAuth(forwarded, context, rt.authOptions()) as Promise<Response>;
}

export { handler as GET, handler as POST };
