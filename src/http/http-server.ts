// The Node HTTP server the app listens on, with its timeouts. A client that trickles its headers is
// dropped within seconds (headersTimeout, checked every second), a request body must arrive within
// requestTimeout, and keep-alive outlives a typical load balancer's idle timeout (60 s).

import { createServer, type RequestListener, type Server } from 'node:http';

export const SERVER_TIMEOUTS = {
  /** All request headers must arrive within this; Node answers 408 and closes otherwise. */
  headersTimeoutMs: 5_000,
  /** The whole request (headers and body, at most 16 kB) must arrive within this. */
  requestTimeoutMs: 30_000,
  /** How often Node checks the two above (its default, 30 s, would let a slow client stay that long). */
  connectionsCheckingIntervalMs: 1_000,
  /** Longer than the 60 s idle timeout of common load balancers, so they close first. */
  keepAliveTimeoutMs: 65_000,
} as const;

export type ServerTimeouts = typeof SERVER_TIMEOUTS;

export function createHttpServer(
  app: RequestListener,
  timeouts: { [K in keyof ServerTimeouts]: number } = SERVER_TIMEOUTS,
): Server {
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      connectionsCheckingInterval: timeouts.connectionsCheckingIntervalMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    },
    app,
  );
  return server;
}
