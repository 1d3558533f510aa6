// The bench's files: the config (checked in, quick overrides), reports, SLA and upload sizes, read with zod.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, effectiveConfig, loadBenchConfig, parseBenchConfig } from '../../bench/config.ts';
import { parseReport, ReportError } from '../../bench/report.ts';
import { parseSla, readSla } from '../../bench/sla.ts';
import { parseUploadSize } from '../../bench/upload-size.ts';
import { predictEndpoint, poissonSchedule } from '../../bench/scenarios/http.ts';
import { makeReport } from './fixtures.ts';

const BENCH = join(import.meta.dirname, '../../bench');

describe('bench.config.json', () => {
  it('is valid and resolves bundles against its own folder', async () => {
    const config = await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: false });
    expect(config.bundles).toEqual([
      join(BENCH, '../artifacts/news-bag'),
      join(BENCH, '../artifacts/news-transformer'),
    ]);
    expect(config.inProcess.batchSizes).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it('applies the quick overrides section by section', async () => {
    const config = await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: true });
    expect(config.inProcess.batchSizes).toEqual([1, 16, 64]);
    expect(config.inProcess.backends).toEqual(['native', 'wasm']);
    expect(config.http.openLoop.maxRequests).toBe(200);
    expect(config.http.openLoop.seed).toBe(1);
    expect(config.http.overload).toEqual({
      enabled: true,
      bundle: join(BENCH, '../artifacts/news-transformer'),
      textsPerRequest: 32,
      capacityConcurrency: 4,
      capacityMs: 2500,
      factor: 2,
      durationMs: 6000,
      seed: 1,
    });
  });

  it('overrides only the keys a quick section names', () => {
    const raw = {
      bundles: ['b'],
      inProcess: { backends: ['wasm'] },
      quick: { inProcess: { batchSizes: [2] } },
    };
    const config = effectiveConfig(parseBenchConfig(raw, 't'), { quick: true, baseDir: '/x' });
    expect(config.inProcess.backends).toEqual(['wasm']);
    expect(config.inProcess.batchSizes).toEqual([2]);
  });

  it('names the bad field of an invalid quick override', () => {
    expect(() =>
      parseBenchConfig({ bundles: ['b'], quick: { inProcess: { batchSizes: [0] } } }, 'cfg.json'),
    ).toThrow(/cfg\.json: not a valid bench config:\n {2}quick\.inProcess\.batchSizes\.0:/);
  });

  it('fills defaults for omitted sections', () => {
    const config = effectiveConfig(parseBenchConfig({ bundles: ['b'] }, 't'), { quick: true, baseDir: '/x' });
    expect(config.stability).toEqual({ windows: 3, tolerancePct: 10, maxTrials: 10 });
    expect(config.memory.budgetMiB).toBe(128);
  });

  it('names the bad field of an invalid config', () => {
    expect(() => parseBenchConfig({ bundles: ['b'], inProcess: { batchSizes: [0] } }, 'cfg.json')).toThrow(
      ConfigError,
    );
    expect(() => parseBenchConfig({ bundles: ['b'], inProcess: { batchSizes: [0] } }, 'cfg.json')).toThrow(
      /cfg\.json: not a valid bench config:\n {2}inProcess\.batchSizes\.0:/,
    );
  });
});

describe('reports and SLA files', () => {
  it('refuses a report of another schema version, saying what to do', () => {
    expect(() => parseReport({ ...makeReport([]), schemaVersion: 2 }, 'old.json')).toThrow(ReportError);
    expect(() => parseReport({ ...makeReport([]), schemaVersion: 2 }, 'old.json')).toThrow(
      'old.json: report schemaVersion 2 is not 1; re-run `shipshape bench` with this version to produce a comparable report.',
    );
  });

  it('refuses a report with an unknown field', () => {
    expect(() => parseReport({ ...makeReport([]), extra: 1 }, 'r.json')).toThrow(
      /r\.json: not a valid bench report/,
    );
  });

  it('reads the checked-in SLA and fills the regression defaults', async () => {
    const sla = await readSla(join(BENCH, 'sla.json'));
    expect(sla.regression.alpha).toBeGreaterThan(0);
    expect(sla.scenarios.length).toBeGreaterThan(0);
    expect(parseSla({ schemaVersion: 1, scenarios: [] }, 't').regression.thresholdsPct.p95LatencyMs).toBe(15);
  });

  it('checks that the checked-in baseline is a valid report', () => {
    const json = JSON.parse(readFileSync(join(BENCH, 'baseline.json'), 'utf8')) as unknown;
    expect(parseReport(json, 'baseline.json').mode).toBe('quick');
  });
});

describe('parseUploadSize', () => {
  it("reads the edge build's JSON", () => {
    expect(parseUploadSize('{"gzipBytes": 3837000, "rawBytes": 14554000, "bytes": 14554000}', 'f')).toEqual({
      gzipBytes: 3837000,
      bytes: 14554000,
      source: 'f',
    });
  });

  it("reads wrangler's Total Upload line", () => {
    expect(parseUploadSize('Total Upload: 14213.27 KiB / gzip: 3660.12 KiB\n', 'w')).toEqual({
      bytes: 14554388,
      gzipBytes: 3747963,
      source: 'w',
    });
  });

  it('names both accepted forms when neither is there', () => {
    expect(() => parseUploadSize('hello', 'x.txt')).toThrow(/x\.txt: no upload size found/);
  });
});

describe('HTTP load safety', () => {
  it('refuses a host that is not loopback', () => {
    expect(() => predictEndpoint('http://example.com:8787')).toThrow(
      '--url http://example.com:8787: host example.com is not loopback; the bench only loads 127.0.0.1, localhost or ::1.',
    );
    expect(predictEndpoint('http://127.0.0.1:8787').href).toBe('http://127.0.0.1:8787/v1/predict');
  });

  it('bounds the Poisson schedule by count and by time, the same for the same seed', () => {
    const a = poissonSchedule(100, 50, 60_000, 7);
    expect(a).toHaveLength(50);
    expect(a).toEqual(poissonSchedule(100, 50, 60_000, 7));
    expect(Math.max(...poissonSchedule(100, 10_000, 2000, 7))).toBeLessThanOrEqual(2000);
    // 2000 arrivals at 100/s: the mean gap is 10 ms give or take a few percent (seeded, so exact every run).
    const many = poissonSchedule(100, 2000, 1e9, 3);
    expect((many[many.length - 1] as number) / many.length).toBeGreaterThan(9.5);
    expect((many[many.length - 1] as number) / many.length).toBeLessThan(10.5);
  });
});
