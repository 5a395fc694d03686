// What the alert rules and the Grafana dashboard ask Prometheus for: each PromQL expression reduced to
// the metric names it selects and the label names it matches or groups by. A small tokenizer, not a
// full parser: promtool checks the syntax (test/deploy/prometheus.test.ts); this only reads names.

import { readText, readYamlDocuments } from './files';

export interface Selector {
  metric: string;
  /** Label names in the selector's matchers, e.g. outcome in {outcome="upstream_timeout"}. */
  labels: string[];
}

export interface ExpressionNames {
  expr: string;
  selectors: Selector[];
  /** Label names in by (...), without (...), on (...), ignoring (...), group_left/right (...). */
  grouping: string[];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

type Token = { kind: 'ident' | 'string' | 'punct' | 'number'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  // Range and subquery durations ([5m], [1h:1m]) and Grafana's $__rate_interval carry no names.
  const text = expr.replace(/\[[^\]]*\]/g, '');
  const pattern =
    /\s+|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|([A-Za-z_:][A-Za-z0-9_:]*)|(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|(=~|!~|!=|==|>=|<=|[-+*/%^(){},=<>])/y;
  let position = 0;
  while (position < text.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) throw new Error(`cannot read PromQL at "${text.slice(position, position + 20)}" in ${expr}`);
    position = pattern.lastIndex;
    if (match[1]) tokens.push({ kind: 'string', text: match[1] });
    else if (match[2]) tokens.push({ kind: 'ident', text: match[2] });
    else if (match[3]) tokens.push({ kind: 'number', text: match[3] });
    else if (match[4]) tokens.push({ kind: 'punct', text: match[4] });
  }
  return tokens;
}

/** Label names of a brace-enclosed matcher list starting at tokens[start] === '{'; returns the end index. */
function readMatchers(tokens: Token[], start: number, into: string[]): number {
  let i = start + 1;
  while (i < tokens.length && tokens[i]?.text !== '}') {
    const token = tokens[i];
    if (
      token?.kind === 'ident' &&
      tokens[i + 1]?.kind === 'punct' &&
      /^(=|!=|=~|!~)$/.test(tokens[i + 1]?.text ?? '')
    ) {
      into.push(token.text);
    }
    i += 1;
  }
  return i;
}

export function namesIn(expr: string): ExpressionNames {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as Token;
    const next = tokens[i + 1];
    if (token.kind !== 'ident') continue;
    if (GROUPING.has(token.text) && next?.text === '(') {
      let j = i + 2;
      while (j < tokens.length && tokens[j]?.text !== ')') {
        if (tokens[j]?.kind === 'ident') grouping.push(tokens[j]?.text ?? '');
        j += 1;
      }
      i = j;
      continue;
    }
    if (KEYWORDS.has(token.text) || next?.text === '(' || next?.text === 'by' || next?.text === 'without') {
      continue; // a function, an aggregation or an operator
    }
    const labels: string[] = [];
    if (next?.text === '{') i = readMatchers(tokens, i + 1, labels);
    selectors.push({ metric: token.text, labels });
  }
  return { expr, selectors, grouping };
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export const RULES_FILE = 'deploy/prometheus/otp-verify.rules.yml';
export const RULES_TEST_FILE = 'deploy/prometheus/otp-verify.rules.test.yml';
export const DASHBOARD_FILE = 'deploy/grafana/otp-verify.dashboard.json';

export function alertRules(): AlertRule[] {
  const [doc] = readYamlDocuments(RULES_FILE) as { groups: { rules: AlertRule[] }[] }[];
  return (doc?.groups ?? []).flatMap((group) => group.rules);
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}

export function dashboard(): Dashboard {
  return JSON.parse(readText(DASHBOARD_FILE)) as Dashboard;
}

/** Grafana's variables replaced by what Prometheus would get for "All" and a 5-minute interval. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?\w+\}?/g, '.*');
}

/** Every PromQL expression the dashboard runs: panel targets, and the metric behind each label_values(). */
export function dashboardExpressions(): string[] {
  const board = dashboard();
  const targets = board.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));
  const variables = board.templating.list
    .map((variable) => /^label_values\((.+),\s*\w+\)$/.exec(variable.definition ?? '')?.[1])
    .filter((metric): metric is string => metric !== undefined);
  return [...targets, ...variables].map(withoutGrafanaVariables);
}
