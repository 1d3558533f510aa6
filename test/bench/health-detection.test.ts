// The drift bench end to end in a tiny configuration: real news-bag predictions on native, a real health monitor per
// stream, the alerts captured. Asserts the report's shape and the alerts that follow from the streams' construction.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectDrift, formatDetection, type DetectionReport } from '../../bench/health/detection.ts';
import { STREAM_NAMES } from '../../bench/health/streams.ts';
import { CHECK_NAMES } from '../../runtime/monitor/index.ts';

const BAG = join(import.meta.dirname, '../../artifacts/news-bag');

let report: DetectionReport;
beforeAll(async () => {
  // A 10-minute quality window keeps the onset replays short (a full window of good traffic comes first).
  report = await detectDrift({
    bundles: [BAG],
    inDistribution: 1024,
    shifted: 640,
    seed: 5,
    thresholds: { qualityWindowSeconds: 600 },
  });
});

const result = (stream: string) => report.results.find((r) => r.stream === stream)!;

describe('detectDrift, news-bag, 1024 in-distribution and 640 shifted texts, a 600 s quality window', () => {
  it('reports every stream once, with the texts fed and one request per 32 texts', () => {
    expect(report.results.map((r) => r.stream)).toEqual([...STREAM_NAMES]);
    expect(report.results.map((r) => r.texts)).toEqual([1024, 640, 640, 640, 640]);
    expect(report.results.map((r) => r.requests)).toEqual([32, 20, 20, 20, 20]);
    expect(report.results.every((r) => r.model === 'news-bag' && r.backend === 'native')).toBe(true);
  });

  it('raises no alert on the in-distribution stream', () => {
    expect(result('in-distribution').fired).toEqual([]);
    expect(result('in-distribution').falseAlarms).toEqual([]);
  });

  it('fires truncation_rate on the long texts, once it has minTexts of them', () => {
    const detection = result('long-texts').fired.find((d) => d.check === 'truncation_rate');
    expect(detection).toBeDefined();
    expect(detection!.texts).toBeGreaterThanOrEqual(report.thresholds['news-bag']!.minTexts);
    expect(detection!.requests).toBe(Math.ceil(detection!.texts / 32));
  });

  it('fires oov_rate on the other-language stream', () => {
    expect(result('other-language').fired.map((d) => d.check)).toContain('oov_rate');
  });

  it('reports each check at the end of each stream, in report order', () => {
    for (const r of report.results) {
      expect(r.final.map((c) => c.check)).toEqual([...CHECK_NAMES]);
    }
  });

  it('replays the in-distribution stream in windows of at least minTexts texts', () => {
    const oov = report.noise[0]!.checks.oov_rate!;
    const minTexts = report.thresholds['news-bag']!.minTexts;
    expect(oov.windows).toBe(Math.floor(1024 / (Math.ceil(minTexts / 32) * 32)));
    expect(oov.samplesEach).toBeGreaterThanOrEqual(minTexts);
    expect(oov.max).toBeGreaterThanOrEqual(oov.min);
  });

  it('replays the feedback in windows of exactly minFeedback items', () => {
    const accuracy = report.noise[0]!.checks.accuracy!;
    const minFeedback = report.thresholds['news-bag']!.minFeedback;
    expect(accuracy.samplesEach).toBe(minFeedback);
    expect(accuracy.windows).toBe(Math.floor(result('in-distribution').feedback / minFeedback));
  });

  it('replays each shift after a full window of in-distribution traffic without an alert before the onset', () => {
    expect(report.onsets.map((o) => o.stream)).toEqual(STREAM_NAMES.slice(1));
    expect(report.onsets.every((o) => o.firedBefore.length === 0)).toBe(true);
  });

  it('detects the long texts after the onset later than on a fresh monitor, the window still holding good texts', () => {
    const onset = report.onsets.find((o) => o.stream === 'long-texts')!;
    const truncation = onset.fired.find((f) => f.check === 'truncation_rate')!;
    const fresh = result('long-texts').fired.find((d) => d.check === 'truncation_rate')!;
    expect(truncation.texts).toBeGreaterThan(fresh.texts);
    expect(truncation.seconds).toBeLessThan(report.thresholds['news-bag']!.qualityWindowSeconds);
  });

  it('prints a row per stream and the thresholds', () => {
    const text = formatDetection(report);
    for (const stream of STREAM_NAMES) expect(text).toContain(stream);
    expect(text).toContain('maxOovRate');
  });
});
