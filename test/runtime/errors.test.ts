// Tests of the one coded error base: every project error extends it with a code, and `messageOf` for anything thrown.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../bench/config.ts';
import { ReportError } from '../../bench/report.ts';
import { SlaError } from '../../bench/sla.ts';
import { NoHealthAnswer } from '../../cli/commands/health.ts';
import { main } from '../../cli/main.ts';
import { EdgeError, errorResponse } from '../../edge/errors.ts';
import { PlanError } from '../../ops/plan/errors.ts';
import {
  CodedError,
  ShipshapeError,
  isCodedError,
  isShipshapeError,
  messageOf,
} from '../../runtime/errors.ts';

/** One instance of every project error class, with the code and name it must carry. */
const PROJECT_ERRORS: readonly { error: Error; code: string; name: string }[] = [
  { error: new ShipshapeError('INPUT_INVALID', 'bad text'), code: 'INPUT_INVALID', name: 'ShipshapeError' },
  { error: new EdgeError('MALFORMED_JSON', 'bad body'), code: 'MALFORMED_JSON', name: 'EdgeError' },
  { error: new ConfigError('bad config'), code: 'BENCH_CONFIG_INVALID', name: 'ConfigError' },
  { error: new ReportError('bad report'), code: 'REPORT_INVALID', name: 'ReportError' },
  { error: new SlaError('bad sla'), code: 'SLA_INVALID', name: 'SlaError' },
  { error: new PlanError('PLAN_OVER_BUDGET', 'too dear'), code: 'PLAN_OVER_BUDGET', name: 'PlanError' },
  { error: new NoHealthAnswer('no answer'), code: 'HEALTH_NO_ANSWER', name: 'NoHealthAnswer' },
];

describe('CodedError', () => {
  for (const { error, code, name } of PROJECT_ERRORS) {
    it(`makes ${name} an instance of the base with the code ${code}`, () => {
      expect(error).toBeInstanceOf(CodedError);
      expect(error).toBeInstanceOf(Error);
      expect(isCodedError(error)).toBe(true);
      expect((error as CodedError).code).toBe(code);
      expect(error.name).toBe(name);
    });
  }

  it('passes the cause through', () => {
    const cause = new Error('disk full');
    expect(new ConfigError('cannot read', { cause }).cause).toBe(cause);
    expect(new EdgeError('INTERNAL', 'oops', { cause }).cause).toBe(cause);
    expect(new ShipshapeError('BACKEND_FAILED', 'run failed', { cause }).cause).toBe(cause);
  });

  it('serializes to code and message only, never a stack', () => {
    expect(JSON.parse(JSON.stringify(new SlaError('sla.json: not JSON')))).toEqual({
      code: 'SLA_INVALID',
      message: 'sla.json: not JSON',
    });
  });

  it('recognizes a coded error from another bundled copy of the module by its mark, not its class', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'PLAN_INVALID' });
    Object.defineProperty(foreign, Symbol.for('shipshape.coded-error'), { value: true });
    expect(isCodedError(foreign)).toBe(true);
  });

  it('does not take a Node system error (which has a string code too) for a coded error', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(isCodedError(enoent)).toBe(false);
    expect(isCodedError('INPUT_INVALID')).toBe(false);
  });

  it('keeps the runtime guard to runtime errors: an edge error is coded but not a ShipshapeError', () => {
    expect(isShipshapeError(new EdgeError('NOT_FOUND', 'no route'))).toBe(false);
    expect(isShipshapeError(new ShipshapeError('DISPOSED', 'gone'))).toBe(true);
  });
});

describe('messageOf', () => {
  it("gives an Error's message", () => {
    expect(messageOf(new TypeError('not a function'))).toBe('not a function');
  });

  it('gives a string as it is', () => {
    expect(messageOf('plain text thrown')).toBe('plain text thrown');
  });

  it("gives an object's string message field", () => {
    expect(messageOf({ message: 'from a worker', code: 7 })).toBe('from a worker');
  });

  it('gives any other object as JSON', () => {
    expect(messageOf({ status: 500 })).toBe('{"status":500}');
  });

  it('gives undefined and null as words', () => {
    expect(messageOf(undefined)).toBe('undefined');
    expect(messageOf(null)).toBe('null');
  });

  it('falls back to String() for an object JSON cannot serialize', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(messageOf(cyclic)).toBe('[object Object]');
  });
});

describe('the CLI error printer', () => {
  it('prints code: message for a coded error that is not a runtime error', async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array): boolean => {
      written.push(String(chunk));
      return true;
    };
    let code: number;
    try {
      code = await main(['node', 'shipshape', 'gate', '--report', '/nonexistent/report.json']);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(1);
    expect(written.join('')).toMatch(
      /^shipshape: REPORT_INVALID: \/nonexistent\/report\.json: cannot read the report \(ENOENT/m,
    );
  });
});

describe('the edge status table', () => {
  it('still answers a coded error of the edge with its own status', async () => {
    const { Hono } = await import('hono');
    const app = new Hono();
    app.get('/', () => {
      throw new EdgeError('MALFORMED_JSON', 'The body is not valid JSON.');
    });
    app.onError((error, c) => errorResponse(c, error));
    const response = await app.request('/');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_JSON');
  });
});
