import "server-only";
import { unmapped, type TrustedProxies } from "@/lib/trusted-proxies";

/** Stamped by the server from the socket on every request (lib/server/http-guard.ts), overwriting what a client sent. */
export const PEER_ADDRESS_HEADER = "x-montage-peer-address";

/**
 * Who sent a request, and from which origin, believing forwarded headers (`X-Forwarded-For`,
 * `-Host`, `-Proto`) only when the TCP peer is a configured trusted proxy (TRUSTED_PROXIES: IPs
 * and CIDR ranges). Without one, the client is the TCP peer and the origin is the request's own.
 * The peer comes from PEER_ADDRESS_HEADER, which the server stamps from the socket for every
 * request (lib/server/http-guard.ts); a client cannot choose it.
 */
function peerOf(request: Request): string | undefined {
  return request.headers.get(PEER_ADDRESS_HEADER)?.trim() || undefined;
}

/** The client's address: the peer, or behind trusted proxies the last X-Forwarded-For hop none of them is. */
export function clientAddress(request: Request, proxies: TrustedProxies): string {
  const peer = peerOf(request);
  // Route handlers called without the server (tests, scripts) have no peer: one shared key.
  if (!peer) return "unknown";
  if (!proxies.trusts(peer)) return unmapped(peer);
  const hops = (request.headers.get("x-forwarded-for") ?? "").split(",").map((hop) => hop.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!proxies.trusts(hops[i]!)) return unmapped(hops[i]!);
  }
  return unmapped(hops[0] ?? peer);
}

/**
 * The origin this request was addressed to: APP_URL's when it is set; else, from a trusted proxy,
 * the forwarded scheme and host; else the Host header over plain HTTP (Montage's server does not
 * terminate TLS itself).
 */
export function expectedOrigin(request: Request, appUrl: string | undefined, proxies: TrustedProxies): string | undefined {
  if (appUrl) return new URL(appUrl).origin;
  const peer = peerOf(request);
  let host = request.headers.get("host") ?? undefined;
  let scheme = "http";
  if (peer && proxies.trusts(peer)) {
    host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || host;
    const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
    if (proto === "https" || proto === "http") scheme = proto;
  }
  if (!host) return undefined;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}
