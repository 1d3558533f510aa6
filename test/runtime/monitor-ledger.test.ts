// The prediction ledger: the ids feedback can still name, the oldest forgotten first, in constant time per id.
import { describe, expect, it } from 'vitest';
import { PredictionLedger } from '../../runtime/monitor/accuracy.ts';

const held = (ledger: PredictionLedger, ids: readonly string[]) =>
  ids.filter((id) => ledger.answer(id).status !== 'unknown');

describe('PredictionLedger', () => {
  it('holds at most capacity ids, forgetting the oldest first', () => {
    const ledger = new PredictionLedger(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) ledger.remember(id, [0]);
    expect(ledger.size).toBe(3);
    expect(held(ledger, ['a', 'b', 'c', 'd', 'e'])).toEqual(['c', 'd', 'e']);
  });

  it('treats an id remembered again as newest, with its new label', () => {
    const ledger = new PredictionLedger(3);
    for (const id of ['a', 'b', 'c']) ledger.remember(id, [0]);
    ledger.remember('a', [2]);
    ledger.remember('d', [0]);
    ledger.remember('e', [0]);
    expect(ledger.answer('a')).toEqual({ status: 'found', labelIndex: 2 });
    expect(held(ledger, ['b', 'c', 'd', 'e'])).toEqual(['d', 'e']);
  });

  it('forgets an id remembered twice once its newer entry is the oldest', () => {
    const ledger = new PredictionLedger(2);
    ledger.remember('a', [1]);
    ledger.remember('a', [1]);
    ledger.remember('b', [0]);
    expect(held(ledger, ['a', 'b'])).toEqual(['a', 'b']);
    ledger.remember('c', [0]);
    expect(held(ledger, ['a', 'b', 'c'])).toEqual(['b', 'c']);
  });

  it('keeps an answered id answered until it is forgotten', () => {
    const ledger = new PredictionLedger(2);
    ledger.remember('a', [1]);
    expect(ledger.answer('a')).toEqual({ status: 'found', labelIndex: 1 });
    ledger.remember('b', [0]);
    expect(ledger.answer('a')).toEqual({ status: 'duplicate' });
    ledger.remember('c', [0]);
    expect(ledger.answer('a')).toEqual({ status: 'unknown' });
  });

  it('remembers nothing with capacity 0', () => {
    const ledger = new PredictionLedger(0);
    ledger.remember('a', [1]);
    expect(ledger.size).toBe(0);
  });

  it('answers each prediction of a group by KEY.INDEX, and only the canonical spelling', () => {
    const ledger = new PredictionLedger(10);
    ledger.remember('r', [3, 1, 2]);
    expect(ledger.answer('r.1')).toEqual({ status: 'found', labelIndex: 1 });
    expect(ledger.answer('r.1')).toEqual({ status: 'duplicate' });
    expect(ledger.answer('r.2')).toEqual({ status: 'found', labelIndex: 2 });
    for (const id of ['r', 'r.3', 'r.01', 'r.1.0', 'r.-1', 'q.0'])
      expect(ledger.answer(id)).toEqual({ status: 'unknown' });
  });

  it('names a group of one by its key alone', () => {
    const ledger = new PredictionLedger(10);
    ledger.remember('solo', [2]);
    expect(ledger.answer('solo.0')).toEqual({ status: 'unknown' });
    expect(ledger.answer('solo')).toEqual({ status: 'found', labelIndex: 2 });
  });

  it('counts its capacity in predictions, forgetting whole groups oldest first', () => {
    const ledger = new PredictionLedger(5);
    ledger.remember('a', [0, 0]);
    ledger.remember('b', [1, 1]);
    ledger.remember('c', [2, 2]);
    expect(ledger.size).toBe(4);
    expect(ledger.answer('a.0')).toEqual({ status: 'unknown' });
    expect(ledger.answer('b.1')).toEqual({ status: 'found', labelIndex: 1 });
    expect(ledger.answer('c.0')).toEqual({ status: 'found', labelIndex: 2 });
  });

  it('does not remember a group larger than its capacity', () => {
    const ledger = new PredictionLedger(2);
    ledger.remember('a', [0]);
    ledger.remember('big', [1, 1, 1]);
    expect(ledger.answer('big.0')).toEqual({ status: 'unknown' });
    expect(ledger.answer('a')).toEqual({ status: 'found', labelIndex: 0 });
  });
});
