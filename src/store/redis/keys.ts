// The Redis key layout, all of it. Every key of one caller's number shares the hash tag
// {caller:+number}, so a verification's transaction and its lock-with-guard script stay in one Redis
// Cluster slot; the request-id index has a slot of its own.
//
//   <prefix>{caller:+number}:v:<requestId>   a verification record (JSON)
//   <prefix>{caller:+number}:cur             the number's current request id
//   <prefix>{caller:+number}:lock            the number's lock (a token)
//   <prefix>{caller:+number}:intent          when the start now under way (or one whose outcome was lost) began
//   <prefix>{caller:+number}:limit:sends     sorted set: codes sent to the number
//   <prefix>{caller:+number}:limit:failed    sorted set: wrong codes for the number
//   <prefix>{caller}:limit:sends             sorted set: codes sent by the caller
//   <prefix>{ip:<address>}:limit:auth        sorted set: failed authentications from an address
//   <prefix>{caller}:limit:vonage            sorted set: Vonage calls made for the caller
//   <prefix>{vonage}:limit:calls             sorted set: every Vonage call of the account (all instances)
//   <prefix>{guard}:prefix:+4474001234:...   one guard scope (a number prefix, or {guard}:country:GB):
//        :limit:sends                        sorted set: codes started to the scope, all callers
//        :settled                            sorted set: known outcomes (member request id, score when known)
//        :verified                           sorted set: the verified ones among them
//        :block                              the scope's block ("settled:verified:since:until"), expiring when it ends
//   <prefix>{guard}:pending                  sorted set: started codes not yet settled, scored by expiry
//   <prefix>{guard}:blocks                   sorted set: current blocks ("scope|value"), scored by their end
//   <prefix>{guard}:seen:prefix|country      sorted set: scopes with outcomes, scored by the latest
//   <prefix>id:{<requestId>}                 the request-id index: { caller, phoneNumber }
//   <prefix>uncertain:{+number}              the first caller whose start for the number timed out, and when
//   <prefix>seen:{<requestId>}               when an in-flight request id without a record was first seen
//   <prefix>{idem:<caller>:<sha256(key)>}    hash: an Idempotency-Key's fingerprint, lease token, kept answer
//   <prefix>readyz                           the readiness probe's write
//
// Every key of the abuse guard shares {guard}, so a code's admission (both its scopes) and its settling
// (the pending set, the seen lists and both scopes' outcomes) are one script each. Before 2026-11-30 each
// scope had a tag of its own ({g:prefix:+4474001234}, {g:country:GB}); of those keys only a current
// block is still read (legacyGuardBlock), to carry it over to this layout during a rolling deploy.

import { hash } from 'node:crypto';
import type { LimitSubject } from '../limiter';

/** The keys of one abuse-guard scope. */
export interface GuardScopeKeys {
  sends: string;
  settled: string;
  verified: string;
  block: string;
}

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** The hash tag of one caller's number: every key of its verifications lands in one slot. */
  tag(caller: string, phoneNumber: string): string {
    return `${this.prefix}{${caller}:${phoneNumber}}`;
  }

  record(caller: string, phoneNumber: string, requestId: string): string {
    return `${this.tag(caller, phoneNumber)}:v:${requestId}`;
  }

  current(caller: string, phoneNumber: string): string {
    return `${this.tag(caller, phoneNumber)}:cur`;
  }

  lock(caller: string, phoneNumber: string): string {
    return `${this.tag(caller, phoneNumber)}:lock`;
  }

  /** One per number, whatever the caller: whose timed-out start a status 10 for the number may be. */
  uncertain(phoneNumber: string): string {
    return `${this.prefix}uncertain:{${phoneNumber}}`;
  }

  seen(requestId: string): string {
    return `${this.prefix}seen:{${requestId}}`;
  }

  intent(caller: string, phoneNumber: string): string {
    return `${this.tag(caller, phoneNumber)}:intent`;
  }

  /** Written by /readyz to prove that Redis takes writes (not full, not a read-only replica). */
  readiness(): string {
    return `${this.prefix}readyz`;
  }

  index(requestId: string): string {
    return `${this.prefix}id:{${requestId}}`;
  }

  /**
   * One caller's Idempotency-Key. The client's key is hashed: any printable characters it holds (braces
   * included) cannot shape the key name or its hash tag, and the name has a fixed length.
   */
  idempotency(caller: string, key: string): string {
    const digest = hash('sha256', key, 'hex');
    return `${this.prefix}{idem:${caller}:${digest}}`;
  }

  /** A rate limit's sorted set; per-number limits share the number's tag, so a lock guard can read them. */
  limit(subject: LimitSubject): string {
    switch (subject.limit) {
      case 'sendsPerNumber':
        return `${this.tag(subject.caller, subject.phoneNumber)}:limit:sends`;
      case 'failedChecksPerNumber':
        return `${this.tag(subject.caller, subject.phoneNumber)}:limit:failed`;
      case 'sendsPerCaller':
        return `${this.prefix}{${subject.caller}}:limit:sends`;
      case 'authFailuresPerIp':
        return `${this.prefix}{ip:${subject.ip}}:limit:auth`;
      case 'sendsPerPrefix':
        return this.guardScope('prefix', subject.prefix).sends;
      case 'sendsPerCountry':
        return this.guardScope('country', subject.country).sends;
      case 'vonageCallsPerCaller':
        return `${this.prefix}{${subject.caller}}:limit:vonage`;
      case 'vonageCallsOfAccount':
        return `${this.prefix}{vonage}:limit:calls`;
    }
  }

  /**
   * One guard scope's keys (a number prefix, or a country): its velocity window, outcomes and block,
   * in the {guard} slot with every other guard key, so a code's admission (both its scopes) and its
   * settling are one script each.
   */
  guardScope(scope: 'prefix' | 'country', value: string): GuardScopeKeys {
    const base = `${this.prefix}{guard}:${scope}:${value}`;
    return {
      sends: `${base}:limit:sends`,
      settled: `${base}:settled`,
      verified: `${base}:verified`,
      block: `${base}:block`,
    };
  }

  /**
   * A scope's block as the layout before 2026-11-30 kept it (a slot per scope): read only to carry a
   * block that an instance of that version started over to guardScope's key (RedisGuardStore.blocks),
   * and deleted with it when an operator lifts the block. Remove once no instance runs that version.
   */
  legacyGuardBlock(scope: 'prefix' | 'country', value: string): string {
    return `${this.prefix}{g:${scope}:${value}}:block`;
  }

  /** Keys of the guard that span scopes, in the {guard} slot with every scope's keys. */
  guard(name: 'pending' | 'blocks' | 'seen:prefix' | 'seen:country'): string {
    return `${this.prefix}{guard}:${name}`;
  }
}
