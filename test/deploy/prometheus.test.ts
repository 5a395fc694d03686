// deploy/prometheus/ and deploy/grafana/: the alert rules pass `promtool check rules`, their unit tests
// pass `promtool test rules` and cover every alert both firing and quiet, every dashboard query is
// valid PromQL (checked by promtool as a recording rule), and the dashboard is a well-formed Grafana
// dashboard with the sections an operator looks for.
//
// promtool is Debian's `prometheus` package; .ci/run installs it. Locally, without it, these tests are
// skipped with one line saying how to get it; in CI (CI=true) a missing promtool fails instead.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, readYamlDocuments } from './files';
import {
  alertRules,
  DASHBOARD_FILE,
  dashboard,
  dashboardExpressions,
  RULES_FILE,
  RULES_TEST_FILE,
} from './promql';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool && process.env.CI) {
  throw new Error('promtool is not installed: .ci/run installs it with apt-get install prometheus');
}
if (!hasPromtool) {
  console.warn('SKIPPED promtool checks: promtool not found (apt-get install prometheus, Debian)');
}
const withPromtool = hasPromtool ? describe : describe.skip;

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const rules = alertRules();

withPromtool('promtool', () => {
  test('check rules: the alert rules are valid', () => {
    const result = promtool('check', 'rules', RULES_FILE);
    expect(result.output).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    expect(result.status).toBe(0);
  });

  test('test rules: every unit test of the rules passes', () => {
    const result = promtool('test', 'rules', RULES_TEST_FILE);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  }, 120_000);

  test('every dashboard query is valid PromQL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-dashboard-'));
    try {
      const file = join(dir, 'dashboard-queries.yml');
      const recording = dashboardExpressions().map((expr, index) => ({
        record: `dashboard:query_${index}`,
        expr,
      }));
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: recording }] }));
      const result = promtool('check', 'rules', file);
      expect(result.output).toMatch(new RegExp(`SUCCESS: ${recording.length} rules found`));
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a broken rule fails the check (the check is not vacuous)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-rules-'));
    try {
      const file = join(dir, 'broken.yml');
      const broken = {
        groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (caller (rate(otp_x[5m]))' }] }],
      };
      writeFileSync(file, JSON.stringify(broken));
      expect(promtool('check', 'rules', file).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the alert rules', () => {
  test('cover what an operator must act on', () => {
    expect(rules.map((rule) => rule.alert).sort()).toEqual(
      [
        'OtpConversionCollapsed',
        'OtpConversionLow',
        'OtpGuardBlocking',
        'OtpGuardManyBlocks',
        'OtpGuardWouldBlock',
        'OtpHttp5xx',
        'OtpInstanceDown',
        'OtpLatencyHigh',
        'OtpStoreUnavailable',
        'OtpVonageErrors',
        'OtpVonageTimeouts',
      ].sort(),
    );
  });

  test.each(rules.map((rule) => [rule.alert ?? rule.record ?? '?', rule] as const))(
    '%s: a severity, a summary and a description that says what to do',
    (_name, rule) => {
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.any(String));
      expect((rule.annotations?.description ?? '').length).toBeGreaterThan(40);
      expect(rule.for).toMatch(/^\d+m$/);
    },
  );

  test('every alert has a unit test where it fires and one where it stays quiet', () => {
    const [doc] = readYamlDocuments(RULES_TEST_FILE) as {
      rule_files: string[];
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    }[];
    expect(doc?.rule_files).toEqual(['otp-verify.rules.yml']);
    const cases = (doc?.tests ?? []).flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of rules) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      expect({ alert: rule.alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({
        alert: rule.alert,
        fires: true,
      });
      expect({ alert: rule.alert, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert: rule.alert,
        quiet: true,
      });
    }
  });
});

describe(`the Grafana dashboard (${DASHBOARD_FILE})`, () => {
  const board = dashboard();
  const graphs = board.panels.filter((panel) => panel.type !== 'row');

  test('has the funnel, latency, Vonage outcomes and the guard', () => {
    const rows = board.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows).toEqual(expect.arrayContaining(['Funnel', 'Latency and errors', 'Vonage', 'Abuse guard']));
    const text = JSON.stringify(graphs.map((panel) => panel.targets));
    for (const metric of [
      'otp_verifications_total',
      'otp_http_request_duration_seconds_bucket',
      'otp_vonage_calls_total',
      'otp_guard_decisions_total',
    ]) {
      expect(text).toContain(metric);
    }
  });

  test('every panel queries the chosen Prometheus, with unique ids and refIds', () => {
    expect(board.uid).toBe('otp-verify');
    expect(board.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    const ids = board.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of graphs) {
      expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({
        panel: panel.title,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable, not a template
        uid: '${datasource}',
      });
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(refIds.length).toBeGreaterThan(0);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  test('panels fit the 24-column grid and do not overlap', () => {
    const cells = new Set<string>();
    for (const panel of board.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let row = y; row < y + h; row += 1) {
        for (let column = x; column < x + w; column += 1) {
          const cell = `${column},${row}`;
          expect({ panel: panel.title, overlaps: cells.has(cell) }).toEqual({
            panel: panel.title,
            overlaps: false,
          });
          cells.add(cell);
        }
      }
    }
  });
});
