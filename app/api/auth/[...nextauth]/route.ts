import NextAuth from "next-auth";
import type { NextRequest } from "next/server";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

// The three-argument form, so the options (and the generated secret) are built on first request, not at build.
function handler(request: NextRequest, context: { params: Promise<{ nextauth: string[] }> }): Promise<Response> {
  return NextAuth(request, context, runtime().authOptions()) as Promise<Response>;
}

export { handler as GET, handler as POST };
