// The Redis client sends the commands issued in one turn of the event loop in one socket write (the
// socket is corked on the first write of a turn and uncorked once the turn's I/O callbacks are done),
// on every connection it makes, reconnects included; each command still gets its own reply. Commands
// issued by two I/O callbacks of the same turn (two connections' data) share the write too.

import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import type Redis from 'ioredis';
import { connectRedis, createRedisClient } from '../../src/store/redis/client';
import { pollUntil } from '../support/net';
import { removeTestKeys, testPrefix, testRedisUrl } from '../support/test-redis';

const prefix = testPrefix();
let client: Redis;

beforeAll(async () => {
  client = createRedisClient({ url: testRedisUrl(), cluster: false }) as Redis;
  await connectRedis(client);
});

afterAll(async () => {
  client.disconnect();
  await removeTestKeys(prefix);
});

const socketOf = (redis: Redis) => (redis as unknown as { stream: Socket }).stream;

/** Issues `count` SETs in this turn; says what the socket held back before the turn ended. */
function burst(redis: Redis, count: number, tag: string) {
  const socket = socketOf(redis);
  const replies = Array.from({ length: count }, (_, i) =>
    redis.set(`${prefix}${tag}:${i}`, String(i), 'PX', 60_000),
  );
  return { socket, corked: socket.writableCorked, heldBytes: socket.writableLength, replies };
}

test('commands issued in one turn are held until the turn ends, then go out together and each gets its reply', async () => {
  const { socket, corked, heldBytes, replies } = burst(client, 50, 'a');
  expect(corked).toBe(1);
  expect(heldBytes).toBeGreaterThan(50 * 20);
  expect(await Promise.all(replies)).toEqual(Array(50).fill('OK'));
  expect(socket.writableCorked).toBe(0);
  expect(await client.get(`${prefix}a:49`)).toBe('49');
});

test('the commands of a later turn are held only until that turn ends, and answered', async () => {
  await Promise.all(burst(client, 5, 'b').replies);
  const { corked, replies } = burst(client, 1, 'c');
  expect(corked).toBe(1);
  expect(await Promise.all(replies)).toEqual(['OK']);
});

test('after a reconnect, the new connection is coalesced too', async () => {
  const before = socketOf(client);
  const id = await client.client('ID');
  const admin = createRedisClient({ url: testRedisUrl(), cluster: false }) as Redis;
  await connectRedis(admin);
  try {
    await admin.client('KILL', 'ID', String(id));
  } finally {
    admin.disconnect();
  }
  await pollUntil('the client reconnected', () =>
    client.status === 'ready' && socketOf(client) !== before ? true : undefined,
  );
  const { corked, replies } = burst(client, 10, 'd');
  expect(corked).toBe(1);
  expect(await Promise.all(replies)).toEqual(Array(10).fill('OK'));
});

test('commands issued by two I/O callbacks of one turn (data on two connections) leave in one write', async () => {
  // Two connections to a local server, written to at once: their data arrives in one turn, one callback
  // each. The first issues a command; the second finds it still held, and adds its own.
  const seen: Array<{ corked: number; heldBytes: number; reply: Promise<string | null> }> = [];
  const server = createServer((conn) => {
    conn.on('data', () => {
      const socket = socketOf(client);
      const corked = socket.writableCorked;
      const heldBytes = socket.writableLength;
      seen.push({ corked, heldBytes, reply: client.set(`${prefix}e:${seen.length}`, '1', 'PX', 60_000) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const clients = [tcpConnect(port, '127.0.0.1'), tcpConnect(port, '127.0.0.1')];
  try {
    await Promise.all(clients.map((c) => new Promise((resolve) => c.once('connect', resolve))));
    await pollUntil('both connections accepted', async () => {
      const count = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
      return count === 2 ? true : undefined;
    });
    for (const c of clients) c.write('x');
    await pollUntil('both callbacks ran', async () => (seen.length === 2 ? true : undefined));
    expect(seen[0]?.corked).toBe(0);
    expect(seen[1]?.corked).toBe(1);
    expect(seen[1]?.heldBytes).toBeGreaterThan(0);
    expect(await Promise.all(seen.map((s) => s.reply))).toEqual(['OK', 'OK']);
  } finally {
    for (const c of clients) c.destroy();
    server.close();
  }
});
