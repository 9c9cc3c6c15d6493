/** The e2e servers (see playwright.config.ts): one per fault setup, since the fault switch is per process. */
export const SERVERS = { main: 3210, faults: 3211, slow: 3212 } as const;

export const serverUrl = (port: number) => `http://localhost:${port}`;
