// The configuration schema: defaults from the contract, every problem of a bad environment listed at once.

import { ConfigError, loadConfig, parseLimitRule } from '../src/config';

describe('configuration', () => {
  test('an empty environment is sandbox mode with the contract defaults', () => {
    const config = loadConfig({});
    expect(config.sandbox).toBe(true);
    expect(config.PORT).toBe(3000);
    expect([...config.API_KEYS]).toEqual([['local', 'dev-key']]);
    expect(config.VONAGE_API_HOST).toBe('https://api.nexmo.com');
    expect(config.VONAGE_TIMEOUT_MS).toBe(10_000);
    expect(config.VONAGE_BRAND_NAME).toBe('MyApp');
    expect(config.VERIFY_CODE_LENGTH).toBe(6);
    expect(config.VERIFY_PIN_EXPIRY).toBe(300);
    expect(config.VERIFY_WORKFLOW_ID).toBe(1);
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.REDIS_CLUSTER).toBe(false);
    expect(config.REDIS_KEY_PREFIX).toBe('otp:');
    expect(config.ALLOWED_COUNTRIES).toBeUndefined();
    expect(config.TEST_NUMBERS.size).toBe(0);
    expect(config.LIMIT_SENDS_PER_NUMBER).toMatchObject({ count: 5, windowMs: 3_600_000 });
    expect(config.LIMIT_SENDS_PER_CALLER).toMatchObject({ count: 300, windowMs: 60_000 });
    expect(config.LIMIT_FAILED_CHECKS_PER_NUMBER).toMatchObject({ count: 10, windowMs: 3_600_000 });
    expect(config.LIMIT_AUTH_FAILURES_PER_IP).toMatchObject({ count: 20, windowMs: 60_000 });
    expect(config.TRUST_PROXY).toBe(false);
    expect(config.CORS_ORIGINS).toBeUndefined();
    expect(config.LOG_LEVEL).toBe('info');
  });

  test('a bad environment fails with every problem listed', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        VONAGE_API_KEY: 'key-only',
        VONAGE_TIMEOUT_MS: '-1',
        VERIFY_CODE_LENGTH: '5',
        LIMIT_SENDS_PER_NUMBER: 'five an hour',
        TRUST_PROXY: 'true',
        ALLOWED_COUNTRIES: 'GB,XX',
        CORS_ORIGINS: 'not a url',
        TEST_NUMBERS: '+15005550006:12',
        LOG_LEVEL: 'loud',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.split(':')[0]);
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT',
        'VONAGE_API_SECRET',
        'VONAGE_TIMEOUT_MS',
        'VERIFY_CODE_LENGTH',
        'LIMIT_SENDS_PER_NUMBER',
        'TRUST_PROXY',
        'ALLOWED_COUNTRIES',
        'CORS_ORIGINS',
        'TEST_NUMBERS',
        'LOG_LEVEL',
      ]),
    );
  });

  test('real Vonage credentials need API_KEYS; production needs Redis and refuses sandbox mode', () => {
    expect(() => loadConfig({ VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's' })).toThrow(/API_KEYS/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/sandbox mode.*production/s);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's', API_KEYS: 'a:b' }),
    ).toThrow(/REDIS_URL/);
  });

  test('API keys never appear in the problem list', () => {
    expect(() => loadConfig({ API_KEYS: 'billing=supersecretvalue' })).toThrow(ConfigError);
    try {
      loadConfig({ API_KEYS: 'billing=supersecretvalue' });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('supersecretvalue');
    }
  });

  test('parses API_KEYS, TEST_NUMBERS, ALLOWED_COUNTRIES and TRUST_PROXY', () => {
    const config = loadConfig({
      API_KEYS: 'billing:3f9c,checkout:a81d',
      TEST_NUMBERS: '+15005550006:123456, +447400000001:4321',
      ALLOWED_COUNTRIES: 'gb, US',
      TRUST_PROXY: '1',
    });
    expect([...config.API_KEYS]).toEqual([
      ['billing', '3f9c'],
      ['checkout', 'a81d'],
    ]);
    expect([...config.TEST_NUMBERS]).toEqual([
      ['+15005550006', '123456'],
      ['+447400000001', '4321'],
    ]);
    expect([...(config.ALLOWED_COUNTRIES ?? [])]).toEqual(['GB', 'US']);
    expect(config.TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      'loopback',
    ]);
  });

  test.each([
    ['5/1h', 5, 3_600_000],
    ['100/1m', 100, 60_000],
    ['20/30s', 20, 30_000],
    ['3/h', 3, 3_600_000],
    ['1/1d', 1, 86_400_000],
  ])('limit %s is %i per %i ms', (text, count, windowMs) => {
    expect(parseLimitRule(text)).toMatchObject({ count, windowMs });
  });

  test.each(['5', '5/', '0/1h', '5/500ms', 'x/1h', '5/1y'])('limit %p is refused', (text) => {
    expect(typeof parseLimitRule(text)).toBe('string');
  });
});
