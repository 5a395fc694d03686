// An HTTP proxy in front of the Verify simulator that forwards each request at once and holds back the
// answer of chosen paths for a while: the upstream has done the work (a verification was started) but
// the service's SDK gives up before it hears so. The simulator's own 'hang' fault cannot show this,
// because a hung call never reaches the simulator's Verify logic.

import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface DelayProxy {
  /** Base URL to give the SDK as apiHost. */
  readonly url: string;
  /** Answers to paths matching `path` are held for `ms` after the upstream answered; null: none. */
  setDelay(rule: { path: RegExp; ms: number } | null): void;
  /** How many answers were held back so far. */
  readonly delayed: number;
  close(): Promise<void>;
}

export async function startDelayProxy(upstream: string): Promise<DelayProxy> {
  const target = new URL(upstream);
  let rule: { path: RegExp; ms: number } | null = null;
  let delayed = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    const upstreamReq = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on('end', () => {
          const send = () => {
            if (res.destroyed) return;
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            res.end(Buffer.concat(chunks));
          };
          const current = rule;
          if (current?.path.test(req.url ?? '')) {
            delayed += 1;
            const timer = setTimeout(() => {
              timers.delete(timer);
              send();
            }, current.ms);
            timers.add(timer);
          } else {
            send();
          }
        });
      },
    );
    upstreamReq.on('error', () => res.destroy());
    // The client gave up (the SDK's timeout): stop waiting upstream too.
    res.once('close', () => {
      if (!res.writableEnded) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setDelay(next) {
      rule = next;
    },
    get delayed() {
      return delayed;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
