// plan.json's schema: a plan that fails it is refused with a code, like every other plan error.
import { describe, expect, it } from 'vitest';
import { isPlanError } from '../../ops/plan/errors.ts';
import { parsePlan } from '../../ops/plan/schema.ts';

describe('parsePlan', () => {
  it('refuses a value that is not a plan with PLAN_INVALID, naming the source', () => {
    let caught: unknown;
    try {
      parsePlan({ schemaVersion: 1 }, 'out/plan/plan.json');
    } catch (error) {
      caught = error;
    }
    expect(isPlanError(caught) && caught.code).toBe('PLAN_INVALID');
    expect((caught as Error).message).toMatch(/^out\/plan\/plan\.json: not a valid plan:\n/);
  });
});
