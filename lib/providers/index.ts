import path from "node:path";
import { config, type Config } from "@/lib/config";
import { FaultSwitch, parseFaultSpec } from "@/lib/providers/local/faults";
import { LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import type { HealthStatus, Providers } from "@/lib/providers/types";

/**
 * The one place that picks providers from the config. Workflow code only sees the interfaces.
 */
export function createProviders(cfg: Config): Providers {
  const faults = new FaultSwitch(parseFaultSpec(cfg.LOCAL_PROVIDER_FAULTS));
  const storage = new LocalStorage({ rootDir: path.join(cfg.dataDir, "media"), publicBaseUrl: cfg.publicBaseUrl, faults });
  const models = new LocalModels({ readMedia: (url, signal) => storage.read(url, signal), faults });
  return { storage, models };
}

const globalForProviders = globalThis as unknown as { montageProviders?: Providers };

export function providers(): Providers {
  globalForProviders.montageProviders ??= createProviders(config());
  return globalForProviders.montageProviders;
}

/** Health by provider name, for the retry sweep. An unknown name (e.g. a provider since switched off) counts as healthy. */
export function checkProviderHealth(all: Providers, name: string): Promise<HealthStatus> {
  const provider = [all.storage, all.models].find((p) => p.name === name);
  return provider ? provider.checkHealth() : Promise.resolve({ healthy: true });
}
