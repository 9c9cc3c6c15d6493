import { BlockList, isIP } from "node:net";

/** The proxies whose forwarded headers Montage believes (TRUSTED_PROXIES: IP addresses and CIDR ranges, comma-separated). */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly any: boolean;

  constructor(setting: string) {
    const entries = setting.split(",").map((entry) => entry.trim()).filter(Boolean);
    for (const entry of entries) {
      const [address, prefix] = entry.split("/");
      const family = isIP(address ?? "") === 6 ? "ipv6" : "ipv4";
      if (!isIP(address ?? "")) throw new Error(`TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
      if (prefix === undefined) this.list.addAddress(address!, family);
      else this.list.addSubnet(address!, Number(prefix), family);
    }
    this.any = entries.length > 0;
  }

  trusts(address: string): boolean {
    const plain = unmapped(address);
    const family = isIP(plain);
    if (!this.any || family === 0) return false;
    return this.list.check(plain, family === 6 ? "ipv6" : "ipv4");
  }
}

/** ::ffff:127.0.0.1 → 127.0.0.1 (Node reports IPv4 peers of a dual-stack socket that way). */
export function unmapped(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address.trim());
  return match ? match[1]! : address.trim();
}
