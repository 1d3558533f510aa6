// The runtime module `cloudflare:workers` (workerd provides it; wrangler leaves the import to the runtime). The
// project takes Cloudflare's types from the importable @cloudflare/workers-types/index.ts, which leaves out its
// ambient module blocks, so the one class the edge uses is declared here from those same types.
declare module 'cloudflare:workers' {
  import type { CloudflareWorkersModule } from '@cloudflare/workers-types/index.ts';
  export const DurableObject: typeof CloudflareWorkersModule.DurableObject;
  export type DurableObject<Env = unknown> = CloudflareWorkersModule.DurableObject<Env>;
}
