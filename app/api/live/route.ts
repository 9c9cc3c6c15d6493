export const dynamic = "force-dynamic";

/**
 * Liveness: the process answers HTTP. Touches nothing else (no database, no runtime), so it is
 * also the framework's own floor that the benchmark measures the API's routes against. Readiness,
 * with the database, is /api/health.
 */
export function GET() {
  return Response.json({ success: true });
}
