// `locale` is the configured Verify API's list of languages (issue 11, "Locale"): Vonage's own locales
// that a two-letter pattern refused (fil-ph, yue-cn) start a verification, a made-up one is refused with
// 400 validation_failed naming `locale` before any limit or Vonage call, and a Vonage status 3 about
// another parameter than the number is not reported as invalid_phone_number. Real SDK, the simulator.

import { V1_LANGUAGES } from '../../src/vonage/v1/languages';
import { V2_LANGUAGES } from '../../src/vonage/v2/languages';
import { type Harness, startHarness, ukMobile } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { LIMIT_SENDS_PER_CALLER: '1000/1m' } });
});
afterAll(async () => {
  await h.close();
});

const starts = () => h.sim.stats.calls.start;

test.each(['fil-ph', 'yue-cn', 'cy-cy', 'en-gb', 'zh-tw'])(
  'Vonage locale %s starts a verification (the simulator checks lg against the documented list)',
  async (locale) => {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), locale });
    expect(res.status).toBe(201);
  },
);

test.each(['xx-yy', 'en-GB', 'en_gb', 'english', 'fil-ph-x'])(
  'locale %p is 400 validation_failed naming locale, without calling Vonage',
  async (locale) => {
    const before = starts();
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), locale });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([{ path: 'locale', message: expect.stringContaining('fil-ph') }]);
    expect(starts()).toBe(before);
  },
);

test('every locale the service offers on v1 is one the simulator (Vonage v1) accepts', async () => {
  for (const locale of V1_LANGUAGES) {
    const res = await h.as('beta').post('/api/request-token', { phoneNumber: ukMobile(), locale });
    expect([locale, res.status]).toEqual([locale, 201]);
  }
});

test('the v2 list is its own: lowercase language-region codes, v1-only ones left out', () => {
  for (const locale of V2_LANGUAGES) expect(locale).toMatch(/^[a-z]{2,3}-[a-z]{2}$/);
  expect(V2_LANGUAGES.has('en-us')).toBe(true);
  expect(V2_LANGUAGES.has('yue-cn')).toBe(false);
});

describe('Vonage status 3 is mapped by the parameter it names', () => {
  test.each([
    ['Invalid value for parameter `lg`', 422, 'option_not_supported', 'locale'],
    ['Invalid value for parameter `brand`', 422, 'option_not_supported', 'brand'],
    ['Invalid value for parameter `workflow_id`', 422, 'option_not_supported', 'workflowId'],
    ['Invalid value for parameter `sender_id`', 502, 'upstream_error', undefined],
    ['Invalid value for parameter `number`', 400, 'invalid_phone_number', undefined],
  ])('"%s" -> %i %s', async (errorText, status, code, option) => {
    h.sim.forceStatus('start', '3', 1, errorText);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), locale: 'en-gb' });
    expect([res.status, res.body.code, res.body.option]).toEqual([status, code, option]);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
