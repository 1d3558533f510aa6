// The runtime module `cloudflare:workers` (workerd provides it; wrangler leaves the import to the runtime). The
// project takes Cloudflare's types from the importable @cloudflare/workers-types/index.ts, which leaves out its
// ambient module blocks, so what the edge uses (a class, the env) is declared here from those same types.
declare module 'cloudflare:workers' {
  import type { CloudflareWorkersModule } from '@cloudflare/workers-types/index.ts';
  export const DurableObject: typeof CloudflareWorkersModule.DurableObject;
  export type DurableObject<Env = unknown> = CloudflareWorkersModule.DurableObject<Env>;
  /** The Worker's bindings and vars, readable in the global scope (the entry narrows it to its own `Env`). */
  export const env: unknown;
}
