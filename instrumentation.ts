/**
 * Next.js calls register() once when the server starts: the runtime (lib/server/runtime.ts) is
 * built and its driver started, so that interrupted executions resume and the retry sweep runs
 * without waiting for a first request.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startServer } = await import("@/lib/server/start");
  await startServer();
}
