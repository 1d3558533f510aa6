// Reading the edge's settings from environment variables / Worker vars.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, readConfig } from '../../edge/config.ts';

describe('readConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(readConfig({})).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toEqual({
      token: undefined,
      corsOrigins: [],
      maxBodyBytes: 1_048_576,
      maxTexts: 256,
      maxTextLength: 10_000,
      batchSize: 32,
      maxInflightTexts: 32,
      maxQueuedTexts: 256,
      maxQueueWaitMs: 100,
    });
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
        SHIPSHAPE_MAX_INFLIGHT_TEXTS: '16',
        SHIPSHAPE_MAX_QUEUED_TEXTS: '48',
        SHIPSHAPE_MAX_QUEUE_WAIT_MS: '250',
        UNRELATED: 'ignored',
      }),
    ).toEqual({
      token: 'abc.DEF-123',
      corsOrigins: ['https://a.example', 'https://b.example'],
      maxBodyBytes: 2048,
      maxTexts: 8,
      maxTextLength: 500,
      batchSize: 4,
      maxInflightTexts: 16,
      maxQueuedTexts: 48,
      maxQueueWaitMs: 250,
    });
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
