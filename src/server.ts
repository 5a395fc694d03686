// The process entry: reads .env and the environment once, builds the service, listens, and shuts down
// gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests within a bound, close Redis).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import 'dotenv/config';
import { Agent, setGlobalDispatcher } from 'undici';
import { compose } from './compose';
import { ConfigError, loadConfig, shutdownGraceMs } from './config';
import { startupFacts, startupSummary, textLogStream } from './console';
import { createHttpServer } from './http/http-server';
import { batchedStdout, createLogger } from './logger';
import { API_VERSION } from './version';
import { installSdkFetch } from './vonage/sdk-fetch';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // A person at a terminal gets a summary and text lines; anything else (containers, pipes) JSON lines.
  const terminal = process.stdout.isTTY === true;
  const logger = createLogger(config.LOG_LEVEL, terminal ? textLogStream(process.stdout) : batchedStdout());

  // The SDK calls the global fetch and takes no fetch, agent or dispatcher of its own: one keep-alive pool
  // with a ceiling, instead of a socket per call, for it and for any other fetch of the process.
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 128 });
  setGlobalDispatcher(dispatcher);

  const service = await compose(config, logger);
  // ... and the global fetch itself: calls to Vonage (or the sandbox's simulator, whose port is known only
  // now) skip Node's WHATWG fetch machinery and go straight to that pool (src/vonage/sdk-fetch.ts).
  installSdkFetch(dispatcher, service.vonageHost);
  if (config.sandbox && !terminal) {
    logger.warn(
      {
        vonageHost: service.vonageHost,
        verifyApi: config.VONAGE_VERIFY_API,
        callers: [...config.API_KEYS.keys()],
      },
      `SANDBOX MODE: no Vonage credentials, codes go to the local Verify ${config.VONAGE_VERIFY_API} simulator, not to phones. ` +
        'Read them at GET /sandbox/messages. Default API key for caller "local": dev-key',
    );
  }

  const server: Server = createHttpServer(service.app);
  server.listen(config.PORT, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    // A v2 sandbox's simulator signs its callbacks and sends them here, as Vonage would.
    service.setCallbackUrl?.(`http://127.0.0.1:${port}/webhooks/vonage/verify`);
    logger.info(
      {
        port,
        sandbox: config.sandbox,
        store: config.REDIS_URL ? 'redis' : 'memory',
        apiVersion: API_VERSION,
      },
      `listening on :${port}`,
    );
    // Log lines go out in batches (batchedStdout); the start-up line should not wait for one.
    logger.flush();
    if (terminal) process.stdout.write(startupSummary(startupFacts(config, port, service.vonageHost)));
  });

  // server.close() waits for every connection, and Node keeps a keep-alive one open after its response:
  // answers still in flight at shutdown say Connection: close, and connections that go idle are closed.
  const graceMs = shutdownGraceMs(config);
  let stopping = false;
  // One listener function shared by every response (no closures per request); an answer finishing while
  // shutting down closes its connection once idle: the ones in flight at shutdown and any after it.
  const inFlight = new Set<ServerResponse>();
  const closeIdle = () => server.closeIdleConnections();
  const closeWhenIdle = () => setImmediate(closeIdle);
  function forget(this: ServerResponse) {
    inFlight.delete(this);
  }
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.on('close', forget);
    if (stopping) res.on('finish', closeWhenIdle);
  });

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    for (const res of inFlight) {
      if (!res.headersSent) res.setHeader('Connection', 'close');
      res.on('finish', closeWhenIdle);
    }
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing their connections');
      server.closeAllConnections();
    }, graceMs);
    force.unref();
    server.close(async () => {
      clearTimeout(force);
      await service.close();
      logger.info('stopped');
      logger.flush?.();
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
