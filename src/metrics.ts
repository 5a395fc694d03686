// Prometheus metrics on a registry of our own (no module-level default registry): HTTP traffic,
// Vonage calls, the verification funnel by caller, and store errors.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { FunnelEvent } from './verification/types';
import type { VonageOperation } from './vonage/gateway';

export class Metrics {
  readonly registry = new Registry();

  private readonly httpRequests = new Counter({
    name: 'otp_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'otp_http_request_duration_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly vonageCalls = new Counter({
    name: 'otp_vonage_calls_total',
    help: 'Calls to Vonage Verify by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly vonageDuration = new Histogram({
    name: 'otp_vonage_call_duration_seconds',
    help: 'Vonage Verify call latency by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly funnel = new Counter({
    name: 'otp_verifications_total',
    help: 'The verification funnel by caller: started, verified, wrong_code, too_many_attempts, expired, cancelled, rate_limited, refused_country, refused_number. Conversion = verified / started.',
    labelNames: ['caller', 'event'] as const,
    registers: [this.registry],
  });

  private readonly storeErrors = new Counter({
    name: 'otp_store_errors_total',
    help: 'Requests answered store_unavailable because Redis did not answer.',
    registers: [this.registry],
  });

  private readonly guardDecisions = new Counter({
    name: 'otp_guard_decisions_total',
    help: 'Abuse guard decisions by scope (prefix, country), decision (allowed, blocked, would_block) and reason (ok, safelisted, low_conversion, velocity).',
    labelNames: ['scope', 'decision', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly guardActiveBlocks = new Gauge({
    name: 'otp_guard_active_blocks',
    help: 'Prefixes and countries the abuse guard blocks now (in shadow mode: would block). Kept in Redis, so the same on every instance.',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'otp_' });
  }

  observeHttp(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.inc({ route, method, status: String(status) });
    this.httpDuration.observe({ route, method }, seconds);
  }

  observeVonage(operation: VonageOperation, outcome: string, seconds: number): void {
    this.vonageCalls.inc({ operation, outcome });
    this.vonageDuration.observe({ operation }, seconds);
  }

  observeFunnel(caller: string, event: FunnelEvent): void {
    this.funnel.inc({ caller, event });
  }

  observeGuardDecision(scope: string, decision: string, reason: string): void {
    this.guardDecisions.inc({ scope, decision, reason });
  }

  setGuardActiveBlocks(count: number): void {
    this.guardActiveBlocks.set(count);
  }

  observeStoreError(): void {
    this.storeErrors.inc();
  }
}
