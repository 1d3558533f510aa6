// The edge API contract over real HTTP against the Node server (@hono/node-server).
import { describe } from 'vitest';
import { CONTRACT_VARS, describeApiContract } from './api-contract.ts';
import { ensureEdgeBuilt, startNode } from './support.ts';

describe('Node server', () => {
  describeApiContract(
    'Node (@hono/node-server)',
    async () => {
      ensureEdgeBuilt();
      return startNode(CONTRACT_VARS);
    },
    ['native', 'wasm'],
    { badContentLength: 'json-400' },
  );
});
