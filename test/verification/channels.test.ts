// `channels` on request-token under both Verify APIs: what each API can send, what it refuses before
// anything is sent (422 option_not_supported naming the option), and that the 201 and the status show the
// resolved channels. Over HTTP, real Redis, the real SDK and the simulators.

import { type Harness, startHarness, startV2Harness, ukMobile, type V2Harness } from '../support/harness';

async function vonageCalls(h: Pick<Harness, 'composed'>): Promise<number> {
  const text = await h.composed.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith('otp_vonage_calls_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('request-token body rules (both APIs)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ redis: false });
  });
  afterAll(async () => {
    await h.close();
  });

  test.each([
    ['workflowId and channels together', { workflowId: 1, channels: ['sms'] }],
    ['silent_auth not first', { channels: ['sms', 'silent_auth'] }],
    ['an unknown channel', { channels: ['email'] }],
    ['no channel', { channels: [] }],
    ['four channels', { channels: ['sms', 'sms', 'voice', 'voice'] }],
  ])('%s: 400 validation_failed naming channels', async (_name, extra) => {
    const calls = await vonageCalls(h);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), ...extra });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    const paths: string[] = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths.some((path) => path.startsWith('channels'))).toBe(true);
    expect(await vonageCalls(h)).toBe(calls);
  });
});

describe('channels on Verify v1', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test.each([
    [['sms', 'voice', 'voice'], 1],
    [['sms', 'sms', 'voice'], 2],
    [['voice', 'voice'], 3],
    [['sms', 'sms'], 4],
    [['sms', 'voice'], 5],
    [['sms'], 6],
    [['voice'], 7],
  ])(
    '%j is sent as workflow %i: its deliveries, to the end, are those channels',
    async (channels, _workflowId) => {
      const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), channels });
      expect(res.status).toBe(201);
      expect(res.body.channels).toEqual(channels);
      const requestId = res.body.requestId;
      for (let i = 1; i < channels.length; i++) {
        expect((await h.as('alpha').post('/api/next-event', { requestId })).status).toBe(200);
      }
      expect((await h.as('alpha').post('/api/next-event', { requestId })).status).toBe(409);
      const delivered = h.sim.messages({ requestId }).map((m) => (m.channel === 'tts' ? 'voice' : m.channel));
      expect(delivered).toEqual(channels);
      const status = await h.as('alpha').get(`/api/verifications/${res.body.requestId}`);
      expect(status.body.channels).toEqual(channels);
    },
  );

  test('workflowId shows its channels', async () => {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), workflowId: 5 });
    expect(res.body.channels).toEqual(['sms', 'voice']);
  });

  test.each([
    ['a list that is no v1 workflow', { channels: ['voice', 'sms'] }, 'channels'],
    ['whatsapp', { channels: ['whatsapp'] }, 'channels'],
    ['silent_auth', { channels: ['silent_auth', 'sms'] }, 'channels'],
    ['nextEventWait under 60', { nextEventWait: 30 }, 'nextEventWait'],
  ])('%s: 422 option_not_supported naming %s, nothing sent', async (_name, extra, option) => {
    const calls = await vonageCalls(h);
    const phoneNumber = ukMobile();
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber, ...extra });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'option_not_supported', option });
    expect(await vonageCalls(h)).toBe(calls);
    expect(h.sim.messages({ number: phoneNumber.slice(1) })).toEqual([]);
  });
});

describe('channels on Verify v2', () => {
  let h: V2Harness;
  beforeAll(async () => {
    h = await startV2Harness();
  }, 30_000);
  afterAll(async () => {
    await h.close();
  });

  test('workflowId n is sent as the same channel list as on v1', async () => {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), workflowId: 3 });
    expect(res.status).toBe(201);
    expect(res.body.channels).toEqual(['voice', 'voice']);
    const steps = h.sim.simulator.requestState(res.body.requestId)?.steps.map((s) => s.channel);
    expect(steps).toEqual(['voice', 'voice']);
  });

  test('channels are sent in order, numbers without "+", and nextEventWait as channel_timeout', async () => {
    const phoneNumber = ukMobile();
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber, channels: ['voice', 'sms'], nextEventWait: 20 });
    expect(res.status).toBe(201);
    expect(res.body.channels).toEqual(['voice', 'sms']);
    // Vonage ends it after both channels had their wait.
    expect(res.body.expiresAt).toBe(new Date(h.clock.now() + 40_000).toISOString());
    const state = h.sim.simulator.requestState(res.body.requestId);
    expect(state?.steps).toEqual([
      expect.objectContaining({ channel: 'voice', to: phoneNumber.slice(1) }),
      expect.objectContaining({ channel: 'sms', to: phoneNumber.slice(1) }),
    ]);
    h.sim.advance(20_000);
    expect(h.sim.simulator.requestState(res.body.requestId)?.currentStep).toBe(1);
  });

  test('WhatsApp without VONAGE_WHATSAPP_FROM: 422 option_not_supported, nothing sent', async () => {
    const phoneNumber = ukMobile();
    const calls = await vonageCalls(h);
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber, channels: ['whatsapp', 'sms'] });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'option_not_supported', option: 'channels' });
    expect(res.body.detail).toContain('VONAGE_WHATSAPP_FROM');
    expect(await vonageCalls(h)).toBe(calls);
    expect(h.sim.messages({ to: phoneNumber.slice(1) })).toEqual([]);
  });

  test('pinExpiry is v1 only: 422 option_not_supported naming pinExpiry, nothing sent', async () => {
    const calls = await vonageCalls(h);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), pinExpiry: 300 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'option_not_supported', option: 'pinExpiry' });
    expect(await vonageCalls(h)).toBe(calls);
  });

  test('silent_auth first: the 201 carries checkUrl; nothing else does', async () => {
    const silent = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: ukMobile(), channels: ['silent_auth', 'sms'] });
    expect(silent.status).toBe(201);
    expect(silent.body.checkUrl).toBe(`${h.sim.url}/v2/verify/${silent.body.requestId}/silent-auth/redirect`);
    // silent_auth waits 60 s whatever nextEventWait is, then sms its 180 s.
    expect(silent.body.expiresAt).toBe(new Date(h.clock.now() + 240_000).toISOString());
    const sms = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: ukMobile(), channels: ['sms'] });
    expect(sms.body.checkUrl).toBeUndefined();
  });
});

describe('WhatsApp with a sender (v2)', () => {
  let h: V2Harness;
  beforeAll(async () => {
    h = await startV2Harness({ env: { VONAGE_WHATSAPP_FROM: '+447700900001' } });
  }, 30_000);
  afterAll(async () => {
    await h.close();
  });

  test('is sent from VONAGE_WHATSAPP_FROM and its code verifies', async () => {
    const phoneNumber = ukMobile();
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber, channels: ['whatsapp'] });
    expect(res.status).toBe(201);
    expect(res.body.channels).toEqual(['whatsapp']);
    const [message] = h.sim.messages({ to: phoneNumber.slice(1) });
    expect(message?.channel).toBe('whatsapp');
    const ok = await h
      .as('alpha')
      .post('/api/verify-token', { requestId: res.body.requestId, code: message?.code ?? '' });
    expect(ok.status).toBe(200);
  });
});
