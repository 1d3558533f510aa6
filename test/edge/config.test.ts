// Reading the edge's settings from environment variables / Worker vars.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, largestRequestBytes, limitsWarning, readConfig } from '../../edge/config.ts';
import { serverConfig } from '../../edge/node-server.ts';

describe('readConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(readConfig({})).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toEqual({
      token: undefined,
      corsOrigins: [],
      maxBodyBytes: 1_048_576,
      maxTexts: 64,
      maxTextLength: 4_096,
      batchSize: 32,
      adminToken: undefined,
      allowEmptyTexts: false,
      accessLog: true,
      maxInflightTexts: 32,
      maxQueuedTexts: 256,
      maxQueueWaitMs: 100,
      skipParity: false,
      metricsPublic: false,
      healthThresholds: {},
      alertWebhook: undefined,
    });
  });

  it('has default limits that fit together: 64 texts of 4,096 characters fit the 1 MiB body as UTF-8 JSON', () => {
    expect(largestRequestBytes(DEFAULT_CONFIG)).toBeLessThanOrEqual(DEFAULT_CONFIG.maxBodyBytes);
    expect(limitsWarning(DEFAULT_CONFIG)).toBeUndefined();
  });

  it('explains limits that cannot fit together, naming the variables', () => {
    const config = readConfig({ SHIPSHAPE_MAX_TEXTS: '256', SHIPSHAPE_MAX_TEXT_LENGTH: '10000' });
    expect(limitsWarning(config)).toBe(
      'SHIPSHAPE_MAX_TEXTS (256) texts of SHIPSHAPE_MAX_TEXT_LENGTH (10000) characters need up to 7680896 bytes ' +
        'of UTF-8 JSON, over SHIPSHAPE_MAX_BODY_BYTES (1048576); such requests get 413. Raise ' +
        'SHIPSHAPE_MAX_BODY_BYTES or lower one of the others.',
    );
  });

  it('reads every variable', () => {
    expect(
      readConfig({
        SHIPSHAPE_TOKEN: 'abc.DEF-123',
        SHIPSHAPE_CORS_ORIGINS: ' https://a.example ,https://b.example,',
        SHIPSHAPE_MAX_BODY_BYTES: '2048',
        SHIPSHAPE_MAX_TEXTS: '8',
        SHIPSHAPE_MAX_TEXT_LENGTH: '500',
        SHIPSHAPE_BATCH_SIZE: '4',
        SHIPSHAPE_ADMIN_TOKEN: 'admin-9',
        SHIPSHAPE_ALLOW_EMPTY_TEXTS: 'TRUE',
        SHIPSHAPE_ACCESS_LOG: 'off',
        SHIPSHAPE_MAX_INFLIGHT_TEXTS: '16',
        SHIPSHAPE_MAX_QUEUED_TEXTS: '48',
        SHIPSHAPE_MAX_QUEUE_WAIT_MS: '250',
        SHIPSHAPE_SKIP_PARITY: '1',
        SHIPSHAPE_METRICS_PUBLIC: 'true',
        SHIPSHAPE_HEALTH_THRESHOLDS: '{"minTexts":100,"maxOovRate":0.1}',
        SHIPSHAPE_ALERT_WEBHOOK: 'https://hooks.example/T0/abc',
        UNRELATED: 'ignored',
      }),
    ).toEqual({
      token: 'abc.DEF-123',
      corsOrigins: ['https://a.example', 'https://b.example'],
      maxBodyBytes: 2048,
      maxTexts: 8,
      maxTextLength: 500,
      batchSize: 4,
      adminToken: 'admin-9',
      allowEmptyTexts: true,
      accessLog: false,
      maxInflightTexts: 16,
      maxQueuedTexts: 48,
      maxQueueWaitMs: 250,
      skipParity: true,
      metricsPublic: true,
      healthThresholds: { minTexts: 100, maxOovRate: 0.1 },
      alertWebhook: 'https://hooks.example/T0/abc',
    });
  });

  it('refuses a SHIPSHAPE_SKIP_PARITY other than 1, 0, true or false, naming the variable', () => {
    expect(() => readConfig({ SHIPSHAPE_SKIP_PARITY: 'yes' })).toThrow(
      'Invalid shipshape edge configuration: SHIPSHAPE_SKIP_PARITY must be "1" or "0" (or "true" or "false") ' +
        '(got "yes").',
    );
  });

  it('reads SHIPSHAPE_HEALTH_THRESHOLDS given as a JSON object in wrangler.toml [vars]', () => {
    expect(readConfig({ SHIPSHAPE_HEALTH_THRESHOLDS: { minFeedback: 10 } }).healthThresholds).toEqual({
      minFeedback: 10,
    });
  });

  it('refuses SHIPSHAPE_HEALTH_THRESHOLDS that is not JSON, naming the variable', () => {
    expect(() => readConfig({ SHIPSHAPE_HEALTH_THRESHOLDS: '{minTexts: 5}' })).toThrow(
      /^Invalid shipshape edge configuration: SHIPSHAPE_HEALTH_THRESHOLDS is not valid JSON \(/,
    );
  });

  it('refuses SHIPSHAPE_HEALTH_THRESHOLDS with an unknown or invalid field, naming the field', () => {
    expect(() => readConfig({ SHIPSHAPE_HEALTH_THRESHOLDS: '{"maxOovRatio":0.1}' })).toThrow(
      /SHIPSHAPE_HEALTH_THRESHOLDS is not a thresholds object \(.*maxOovRatio/,
    );
    expect(() => readConfig({ SHIPSHAPE_HEALTH_THRESHOLDS: '{"minTexts":"many"}' })).toThrow(
      /SHIPSHAPE_HEALTH_THRESHOLDS is not a thresholds object \(minTexts: /,
    );
  });

  it('refuses a SHIPSHAPE_ALERT_WEBHOOK that is not an http(s) URL, without echoing it', () => {
    let message = '';
    try {
      readConfig({ SHIPSHAPE_ALERT_WEBHOOK: 'ftp://hooks.example/secret-path' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'Invalid shipshape edge configuration: SHIPSHAPE_ALERT_WEBHOOK must be an http or https URL.',
    );
  });

  it('admits one batch of SHIPSHAPE_BATCH_SIZE texts into service at once unless told otherwise', () => {
    expect(readConfig({ SHIPSHAPE_BATCH_SIZE: '16' }).maxInflightTexts).toBe(16);
  });

  it('treats "*" among the origins as any origin, and an empty token as none', () => {
    expect(readConfig({ SHIPSHAPE_CORS_ORIGINS: 'https://a.example,*', SHIPSHAPE_TOKEN: '' })).toMatchObject({
      corsOrigins: '*',
      token: undefined,
    });
  });

  it.each([
    ['SHIPSHAPE_MAX_TEXTS', '0'],
    ['SHIPSHAPE_MAX_TEXTS', 'many'],
    ['SHIPSHAPE_MAX_BODY_BYTES', '-5'],
    ['SHIPSHAPE_BATCH_SIZE', '1.5'],
    ['SHIPSHAPE_MAX_QUEUE_WAIT_MS', '0'],
  ])('refuses %s=%s, naming the variable and the value', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(
      new RegExp(`${name} must be a positive integer \\(got "${value.replace('.', '\\.')}"\\)`),
    );
  });

  it.each([
    ['SHIPSHAPE_ALLOW_EMPTY_TEXTS', 'yes', '"true" or "false"'],
    ['SHIPSHAPE_ACCESS_LOG', 'true', '"on" or "off"'],
  ])('refuses %s=%s, naming the values it takes', (name, value, takes) => {
    expect(() => readConfig({ [name]: value })).toThrow(`${name} must be ${takes} (got "${value}")`);
  });

  it('refuses a token with characters a bearer token cannot hold, without echoing it', () => {
    let message = '';
    try {
      readConfig({ SHIPSHAPE_TOKEN: 'secret with spaces' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('SHIPSHAPE_TOKEN must be a bearer token');
    expect(message).not.toContain('secret with spaces');
  });
});

describe('serverConfig', () => {
  it('puts one batch per worker in service when SHIPSHAPE_MAX_INFLIGHT_TEXTS is unset', () => {
    expect(serverConfig({ SHIPSHAPE_BATCH_SIZE: '16' }, 3).maxInflightTexts).toBe(48);
  });

  it('keeps SHIPSHAPE_MAX_INFLIGHT_TEXTS when it is set', () => {
    expect(serverConfig({ SHIPSHAPE_MAX_INFLIGHT_TEXTS: '20' }, 3).maxInflightTexts).toBe(20);
  });

  it('keeps one batch in service for the in-process model', () => {
    expect(serverConfig({}, 0).maxInflightTexts).toBe(32);
  });
});
