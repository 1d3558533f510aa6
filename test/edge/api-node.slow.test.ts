// The edge API contract over real HTTP against the Node server (@hono/node-server).
import { describe } from 'vitest';
import { CONTRACT_VARS, describeApiContract, overHttp } from './api-contract.ts';
import { requireEdgeBuild, startNode } from './support.ts';

describe('Node server', () => {
  describeApiContract(
    'Node (@hono/node-server)',
    async () => {
      requireEdgeBuild();
      return overHttp(await startNode(CONTRACT_VARS));
    },
    ['native', 'wasm'],
    { transport: 'http', badContentLength: 'json-400' },
  );
});
