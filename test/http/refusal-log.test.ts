// Refusals in floods (401, 429) are folded in the log above debug level: per status at most one line a
// second, the first of a burst as it is, the rest counted into `folded` on the next line of that status
// or on a "refusals folded" line written by a timer; the metrics count every one. At debug level every
// refusal keeps its own line. Other answers are never folded.

import pino from 'pino';
import { RefusalLog } from '../../src/http/refusal-log';
import { type Harness, startHarness } from '../support/harness';

type Line = Record<string, unknown> & { msg?: string; folded?: number; res?: { statusCode?: number } };

function logged(level: string, now: () => number) {
  const lines: Line[] = [];
  const logger = pino({ level }, { write: (text: string) => lines.push(JSON.parse(text) as Line) });
  return { lines, refusals: new RefusalLog(logger, 1_000, now) };
}

describe('the fold', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('per status at most one line a second: the first of a burst, then the count of the others', () => {
    const { lines, refusals } = logged('info', Date.now);
    expect(refusals.admit(401)).toBe(0);
    for (let i = 0; i < 30; i++) {
      jest.advanceTimersByTime(10);
      expect(refusals.admit(401)).toBeUndefined();
    }
    // Another status is folded on its own; other answers never are.
    expect(refusals.admit(429)).toBe(0);
    expect(refusals.admit(429)).toBeUndefined();
    expect(refusals.admit(400)).toBe(0);
    expect(refusals.admit(201)).toBe(0);
    jest.advanceTimersByTime(690);
    expect(lines).toEqual([]);
    // A second after 401's line, the 30 folded since are written.
    jest.advanceTimersByTime(10);
    expect(lines).toMatchObject([
      { level: 30, msg: 'refusals folded', res: { statusCode: 401 }, folded: 30 },
    ]);
    // The flood goes on: still one line a second.
    expect(refusals.admit(401)).toBeUndefined();
    jest.advanceTimersByTime(300);
    expect(lines.at(-1)).toMatchObject({ res: { statusCode: 429 }, folded: 1 });
    jest.advanceTimersByTime(700);
    expect(lines.at(-1)).toMatchObject({ res: { statusCode: 401 }, folded: 1 });
    expect(lines).toHaveLength(3);
    // Quiet for a second: the next refusal has its own line again.
    jest.advanceTimersByTime(1_000);
    expect(refusals.admit(401)).toBe(0);
  });

  test('a count the timer could not write yet rides on the next line of its status', () => {
    let now = Date.now();
    const { lines, refusals } = logged('info', () => now);
    refusals.admit(401);
    refusals.admit(401);
    refusals.admit(401);
    // The event loop was busy: a second passed before the timer could run.
    now += 1_000;
    expect(refusals.admit(401)).toBe(2);
    jest.advanceTimersByTime(1_000);
    expect(lines).toEqual([]);
  });

  test('close() writes the pending counts at once; at debug level nothing is folded', () => {
    const { lines, refusals } = logged('info', Date.now);
    refusals.admit(429);
    refusals.admit(429);
    refusals.admit(429);
    refusals.close();
    expect(lines).toMatchObject([{ msg: 'refusals folded', res: { statusCode: 429 }, folded: 2 }]);

    const debug = logged('debug', Date.now);
    for (let i = 0; i < 5; i++) expect(debug.refusals.admit(401)).toBe(0);
  });
});

describe('over HTTP at info level', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'info', LIMIT_AUTH_FAILURES_PER_IP: '1000/1m' } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('a flood of wrong keys: one completion line, every refusal in the metrics, the count written at close', async () => {
    const from = h.logs.length;
    for (let i = 0; i < 20; i++) {
      const res = await h.http
        .post('/api/verify-token')
        .set('Authorization', 'Bearer not-a-key-000000000000')
        .set('X-Request-Id', `flood-${i}`)
        .send({ requestId: 'x', code: '1234' });
      expect(res.status).toBe(401);
    }
    await new Promise((resolve) => setImmediate(resolve));
    const metrics = await h.http.get('/metrics');
    expect(metrics.text).toMatch(/otp_http_requests_total\{[^}]*method="POST",status="401"\} 20\n/);
    const lines = (): Line[] => h.logs.slice(from).map((text) => JSON.parse(text) as Line);
    const completed = lines().filter((line) => line.msg === 'request completed');
    // The first is written as it is (under a second elapses for all twenty on any machine this runs on,
    // else the next line carries the count: the sum below holds either way).
    expect(completed[0]).toMatchObject({ reqId: 'flood-0', res: { statusCode: 401 } });
    await h.composed.close?.();
    const all = lines().filter((line) => line.res?.statusCode === 401);
    const written = all.filter((line) => line.msg === 'request completed').length;
    const folded = all.reduce((sum, line) => sum + (line.folded ?? 0), 0);
    expect(written + folded).toBe(20);
    expect(written).toBeLessThan(20);
  });
});
