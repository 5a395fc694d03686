// Every metric the alert rules and the Grafana dashboard name exists in the service's GET /metrics, with
// the label names they match and group by: a renamed metric or label would otherwise leave an alert that
// can never fire and a panel that stays empty, silently. The real service process (sandbox mode, default
// process metrics on) runs one verification first, so the labelled series have samples.

import { type ServiceProcess, startService } from '../support/service-process';
import { alertRules, dashboardExpressions, type ExpressionNames, namesIn } from './promql';

// Series Prometheus makes itself for every scrape target, never in /metrics.
const FROM_PROMETHEUS = new Set(['up']);

// Labels Prometheus attaches to every scraped series (the scrape job and target).
const TARGET_LABELS = ['job', 'instance'];

interface Exposition {
  /** Every series name in the text: counters' _total, histograms' _bucket/_sum/_count, gauges. */
  names: Set<string>;
  /** Label names seen on each series name's samples. */
  labels: Map<string, Set<string>>;
}

function parseExposition(text: string): Exposition {
  const names = new Set<string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const typed = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (typed?.[1]) {
      const [, name, type] = typed;
      names.add(name);
      if (type === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
      continue;
    }
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!sample?.[1]) continue;
    const seen = labels.get(sample[1]) ?? new Set<string>();
    for (const match of (sample[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) seen.add(match[1] ?? '');
    labels.set(sample[1], seen);
  }
  return { names, labels };
}

let svc: ServiceProcess;
let metrics: Exposition;

beforeAll(async () => {
  svc = await startService({ env: { PORT: '0', LOG_LEVEL: 'info' }, startTimeoutMs: 40_000 });
  const call = (path: string, body?: object) =>
    fetch(`${svc.url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { Authorization: 'Bearer dev-key', 'Content-Type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
  const started = await call('/api/request-token', { phoneNumber: '+447400123456' });
  expect(started.status).toBe(201);
  const inbox = await call('/sandbox/messages?phoneNumber=%2B447400123456');
  const code = (inbox.body.messages as { code: string }[])[0]?.code;
  expect((await call('/api/verify-token', { requestId: started.body.requestId, code })).status).toBe(200);
  metrics = parseExposition(await (await fetch(`${svc.url}/metrics`)).text());
}, 60_000);

afterAll(async () => {
  await svc?.kill();
});

const sources: { source: string; names: ExpressionNames }[] = [
  ...alertRules().map((rule) => ({ source: `alert ${rule.alert}`, names: namesIn(rule.expr) })),
  ...dashboardExpressions().map((expr) => ({ source: 'dashboard', names: namesIn(expr) })),
];

test('the rules and the dashboard name metrics at all (the reader is not vacuous)', () => {
  const used = new Set(sources.flatMap((s) => s.names.selectors.map((selector) => selector.metric)));
  expect(used).toEqual(
    new Set([
      'up',
      'otp_http_requests_total',
      'otp_http_request_duration_seconds_bucket',
      'otp_vonage_calls_total',
      'otp_vonage_call_duration_seconds_bucket',
      'otp_verifications_total',
      'otp_store_errors_total',
      'otp_guard_decisions_total',
      'otp_guard_active_blocks',
      'otp_process_resident_memory_bytes',
      'otp_process_cpu_seconds_total',
      'otp_nodejs_eventloop_lag_p99_seconds',
    ]),
  );
  expect(namesIn('sum by (caller, le) (rate(otp_x{event="a",caller=~"b"}[5m])) / on (caller) up')).toEqual({
    expr: expect.any(String),
    selectors: [
      { metric: 'otp_x', labels: ['event', 'caller'] },
      { metric: 'up', labels: [] },
    ],
    grouping: ['caller', 'le', 'caller'],
  });
});

test('every metric they name is in /metrics (or made by Prometheus)', () => {
  const missing = sources.flatMap(({ source, names }) =>
    names.selectors
      .map((selector) => selector.metric)
      .filter((metric) => !metrics.names.has(metric) && !FROM_PROMETHEUS.has(metric))
      .map((metric) => `${source}: ${metric}`),
  );
  expect(missing).toEqual([]);
});

test('every label they match or group by is on the metrics they select', () => {
  const problems: string[] = [];
  for (const { source, names } of sources) {
    const checked = names.selectors.filter((s) => !FROM_PROMETHEUS.has(s.metric));
    const available = new Set([...TARGET_LABELS]);
    for (const selector of checked) {
      const labels = metrics.labels.get(selector.metric) ?? new Set<string>();
      for (const label of labels) available.add(label);
      for (const label of selector.labels) {
        if (!labels.has(label) && !TARGET_LABELS.includes(label))
          problems.push(`${source}: ${selector.metric}{${label}}`);
      }
    }
    // A grouping label must come from one of the selected metrics (only checkable when all are known).
    if (checked.length === names.selectors.length) {
      for (const label of names.grouping) {
        if (!available.has(label)) problems.push(`${source}: by/on (${label})`);
      }
    }
  }
  expect(problems).toEqual([]);
});
