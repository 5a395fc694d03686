// The configuration schema: defaults from the contract, every problem of a bad environment listed at once.

import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig, parseLimit, parseLimitRule } from '../src/config';

/** A real key: VONAGE_PRIVATE_KEY is checked at start-up to be an RSA private key. */
const RSA_PRIVATE_KEY = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

describe('configuration', () => {
  test.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['7d', 604_800_000],
    ['1500ms', 1500],
    ['120', 120_000],
  ])('IDEMPOTENCY_TTL=%s is %i ms', (text, ms) => {
    expect(loadConfig({ IDEMPOTENCY_TTL: text }).IDEMPOTENCY_TTL).toBe(ms);
  });

  test.each(['0s', '999ms', '31d', 'a day', '-1h', '1.5h'])('IDEMPOTENCY_TTL=%s is refused', (text) => {
    expect(() => loadConfig({ IDEMPOTENCY_TTL: text })).toThrow(/IDEMPOTENCY_TTL: must be a duration/);
  });

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
    expect(config.LIMIT_SENDS_PER_NUMBER).toMatchObject({ rules: [{ count: 5, windowMs: 3_600_000 }] });
    expect(config.LIMIT_SENDS_PER_CALLER).toMatchObject({ rules: [{ count: 300, windowMs: 60_000 }] });
    expect(config.LIMIT_FAILED_CHECKS_PER_NUMBER).toMatchObject({
      rules: [{ count: 10, windowMs: 3_600_000 }],
    });
    expect(config.LIMIT_AUTH_FAILURES_PER_IP).toMatchObject({ rules: [{ count: 20, windowMs: 60_000 }] });
    expect(config.LIMIT_SENDS_PER_PREFIX).toMatchObject({ rules: [{ count: 30, windowMs: 3_600_000 }] });
    expect(config.LIMIT_SENDS_PER_COUNTRY).toBeUndefined();
    expect(config.LIMIT_VONAGE_CALLS_PER_CALLER).toMatchObject({ rules: [{ count: 600, windowMs: 60_000 }] });
    expect(config.VONAGE_MAX_REQUESTS_PER_SECOND).toBe(25);
    expect(config.PUMPING_GUARD).toBe('enforce');
    expect(config.PUMPING_WINDOW).toBe(3_600_000);
    expect(config.PUMPING_MIN_SETTLED).toBe(20);
    expect(config.PUMPING_MIN_CONVERSION).toBe(0.2);
    expect(config.PUMPING_BLOCK).toBe(3_600_000);
    expect(config.PUMPING_SAFELIST).toEqual([]);
    expect(config.ADMIN_API_KEY).toBeUndefined();
    expect(config.IDEMPOTENCY_TTL).toBe(24 * 3_600_000);
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

  describe('refuses what is unsafe where real codes are sent, every problem at once', () => {
    const LONG_A = 'a'.repeat(40);
    const LONG_B = 'b'.repeat(40);
    const production = {
      NODE_ENV: 'production',
      VONAGE_API_KEY: 'k',
      VONAGE_API_SECRET: 's',
      REDIS_URL: 'redis://127.0.0.1:6379',
      API_KEYS: `billing:${LONG_A},checkout:${LONG_B}`,
    };
    const problemsOf = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };

    test('a production configuration with long keys, Redis and v1 credentials is accepted', () => {
      expect(problemsOf(production)).toEqual([]);
      expect(loadConfig(production).sandbox).toBe(false);
    });

    test('keys shorter than 32 characters or equal to the sandbox key, in production; callers named, keys not shown', () => {
      const problems = problemsOf({
        ...production,
        API_KEYS: `billing:x,checkout:${'c'.repeat(31)},local:dev-key`,
      });
      expect(problems).toEqual([
        expect.stringMatching(/^API_KEYS: caller "billing": keys must be at least 32 characters/),
        expect.stringMatching(/^API_KEYS: caller "checkout": keys must be at least 32 characters/),
        expect.stringMatching(/^API_KEYS: caller "local" uses the sandbox key/),
      ]);
      expect(problems.join('\n')).not.toContain('c'.repeat(31));
      expect(problemsOf({ ...production, API_KEYS: `billing:${'c'.repeat(32)}` })).toEqual([]);
    });

    test('.env.example copied with real credentials: local:dev-key is refused, in any NODE_ENV', () => {
      const copied = { API_KEYS: 'local:dev-key', VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's' };
      expect(problemsOf(copied)).toEqual([
        expect.stringMatching(/^API_KEYS: caller "local" uses the sandbox key/),
      ]);
      expect(problemsOf({ ...copied, NODE_ENV: 'production', REDIS_URL: 'redis://r' })).toHaveLength(1);
      // In sandbox mode the sandbox key is what it is for.
      expect(problemsOf({ API_KEYS: 'local:dev-key' })).toEqual([]);
    });

    test('a key with whitespace can never authenticate: refused in every mode', () => {
      expect(problemsOf({ API_KEYS: 'billing:abc def' })).toEqual([
        expect.stringMatching(/^API_KEYS: caller "billing": the key contains whitespace/),
      ]);
      expect(
        problemsOf({ ...production, API_KEYS: `billing:${LONG_A},checkout:${LONG_A}\t${LONG_B}` }),
      ).toEqual([expect.stringMatching(/^API_KEYS: caller "checkout": the key contains whitespace/)]);
    });

    test.each(['Production', 'prod', 'PRODUCTION', 'production ', 'staging'])(
      'NODE_ENV=%p is refused (sandbox and with credentials)',
      (value) => {
        expect(problemsOf({ NODE_ENV: value })).toEqual([
          expect.stringMatching(/^NODE_ENV: must be development, test or production/),
        ]);
        expect(problemsOf({ ...production, NODE_ENV: value })).toEqual([
          expect.stringMatching(/^NODE_ENV: /),
        ]);
      },
    );

    test.each(['development', 'test'])('NODE_ENV=%s is accepted', (value) => {
      expect(problemsOf({ NODE_ENV: value })).toEqual([]);
    });

    test('real credentials with the memory store are refused in production', () => {
      const { REDIS_URL: _unset, ...memory } = production;
      expect(problemsOf(memory)).toEqual([
        expect.stringMatching(/^REDIS_URL: required with NODE_ENV=production/),
      ]);
    });

    test('credentials of the other API version only are refused', () => {
      const v2 = { VONAGE_APPLICATION_ID: 'app-id', VONAGE_PRIVATE_KEY: RSA_PRIVATE_KEY };
      const v1 = { VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's' };
      const keys = { API_KEYS: `billing:${LONG_A}` };
      expect(problemsOf({ ...keys, ...v2 })).toEqual([
        expect.stringMatching(/^VONAGE_VERIFY_API: is v1 \(the default\), but only v2 credentials/),
      ]);
      expect(problemsOf({ ...keys, ...v2, VONAGE_VERIFY_API: 'v1' })).toHaveLength(1);
      expect(problemsOf({ ...keys, ...v1, VONAGE_VERIFY_API: 'v2' })).toEqual([
        expect.stringMatching(/^VONAGE_VERIFY_API: is v2, but only v1 credentials/),
      ]);
      expect(problemsOf({ ...keys, VONAGE_APPLICATION_ID: 'app-id', VONAGE_VERIFY_API: 'v2' })).toEqual([
        expect.stringMatching(/^VONAGE_PRIVATE_KEY: set both/),
      ]);
      expect(problemsOf({ ...keys, ...v2, VONAGE_VERIFY_API: 'v2' })).toEqual([]);
      expect(problemsOf({ ...keys, ...v1, ...v2 })).toEqual([]);
      expect(problemsOf({ VONAGE_VERIFY_API: 'v3' })).toEqual([
        expect.stringMatching(/^VONAGE_VERIFY_API: /),
      ]);
    });

    test.each(['otp{x}:', 'otp:}', 'otp {', 'my app:', 'otp:\n'])(
      'REDIS_KEY_PREFIX %p is refused',
      (prefix) => {
        expect(problemsOf({ REDIS_KEY_PREFIX: prefix })).toEqual([
          expect.stringMatching(/^REDIS_KEY_PREFIX: must not contain \{, \} or whitespace/),
        ]);
      },
    );

    test('every problem is listed at once', () => {
      const problems = problemsOf({
        NODE_ENV: 'Production',
        API_KEYS: 'local:dev-key,billing:has space',
        VONAGE_APPLICATION_ID: 'app-id',
        VONAGE_PRIVATE_KEY: RSA_PRIVATE_KEY,
        REDIS_KEY_PREFIX: '{otp}:',
        METRICS_TOKEN: 'a b',
      });
      expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'API_KEYS',
        'API_KEYS',
        'METRICS_TOKEN',
        'NODE_ENV',
        'REDIS_KEY_PREFIX',
        'VONAGE_VERIFY_API',
      ]);
    });
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

  test('a limit may list several rules, all of which apply', () => {
    expect(parseLimit('300/1m, 20000/1d')).toEqual({
      rules: [
        { count: 300, windowMs: 60_000, text: '300/1m' },
        { count: 20_000, windowMs: 86_400_000, text: '20000/1d' },
      ],
      text: '300/1m,20000/1d',
    });
    expect(
      loadConfig({ LIMIT_SENDS_PER_COUNTRY: '1000/1h,5000/1d' }).LIMIT_SENDS_PER_COUNTRY?.rules,
    ).toHaveLength(2);
    expect(typeof parseLimit('300/1m,')).toBe('string');
    expect(typeof parseLimit('300/1m,x/1d')).toBe('string');
  });

  test('the guard settings are checked', () => {
    expect(() =>
      loadConfig({
        PUMPING_GUARD: 'loud',
        PUMPING_WINDOW: '1y',
        PUMPING_MIN_CONVERSION: '1.5',
        PUMPING_SAFELIST: '+4474001,4474002',
        ADMIN_API_KEY: 'short',
        VONAGE_MAX_REQUESTS_PER_SECOND: '0',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          expect.stringMatching(/^PUMPING_GUARD/),
          expect.stringMatching(/^PUMPING_WINDOW/),
          expect.stringMatching(/^PUMPING_MIN_CONVERSION/),
          expect.stringMatching(/^PUMPING_SAFELIST: "4474002"/),
          expect.stringMatching(/^ADMIN_API_KEY: .*value not shown/),
          expect.stringMatching(/^VONAGE_MAX_REQUESTS_PER_SECOND/),
        ]),
      }),
    );
    const config = loadConfig({
      PUMPING_GUARD: 'shadow',
      PUMPING_WINDOW: '2h',
      PUMPING_SAFELIST: '+4474001, +15005550006',
    });
    expect(config.PUMPING_WINDOW).toBe(7_200_000);
    expect(config.PUMPING_SAFELIST).toEqual(['+4474001', '+15005550006']);
  });
});
