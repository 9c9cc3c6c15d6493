/**
 * The e2e servers (see playwright.config.ts): one per fault setup, since the fault switch is per
 * process. E2E_PORT_BASE moves all of them (default 3210), so two checkouts on one machine can run
 * their browser tests at the same time.
 */
const base = Number(process.env.E2E_PORT_BASE ?? 3210);
export const SERVERS = { main: base, faults: base + 1, slow: base + 2, recovery: base + 3 } as const;

export const serverUrl = (port: number) => `http://localhost:${port}`;
