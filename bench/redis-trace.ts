// Counts the Redis work of one complete flow as the bench sends it (request-token, then verify-token,
// an Idempotency-Key on each, the abuse guard and the call budget on): every command the service's
// client sends, and the round trips, i.e. the batches of commands that leave in one socket write (the
// write coalescing sends a turn's commands together, so a batch is one wait for Redis).
// `npx tsx bench/redis-trace.ts` (Redis at TEST_REDIS_URL / REDIS_URL / 127.0.0.1:6379, keys under a
// prefix of its own, removed afterwards). Flows are run one at a time, so batches are one request's.

import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { KEYS, startHarness } from '../test/support/harness';

interface Sent {
  batch: number;
  command: string;
  key: string;
}

function trace(client: Redis, prefix: string): Sent[] {
  const sent: Sent[] = [];
  let batch = 0;
  let open = false;
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
    if (!open) {
      open = true;
      batch += 1;
      setImmediate(() => {
        open = false;
      });
    }
    const name = command.name.toUpperCase();
    const keyIndex = name === 'EVALSHA' || name === 'EVAL' ? 2 : 0;
    const key = String(command.args[keyIndex] ?? '').replace(prefix, '');
    sent.push({ batch, command: name === 'EVALSHA' ? 'EVALSHA' : name, key });
    return (original as (...args: unknown[]) => unknown)(command, ...rest);
  }) as Redis['sendCommand'];
  return sent;
}

async function main(): Promise<void> {
  const flows = Number(process.env.TRACE_FLOWS ?? 3);
  const h = await startHarness({
    env: { PUMPING_GUARD: 'enforce', LIMIT_SENDS_PER_PREFIX: '100000000/1h', LOG_LEVEL: 'warn' },
    guardSweepMs: 0,
  });
  try {
    const client = h.composed.redis as Redis;
    const sent = trace(client, h.prefix);
    const post = (path: string, body: unknown) =>
      h.http
        .post(path)
        .set('Authorization', `Bearer ${KEYS.alpha}`)
        .set('Idempotency-Key', randomUUID())
        .send(body as object);
    for (let flow = 0; flow < flows; flow++) {
      const phoneNumber = `+44740012${String(3000 + flow).padStart(4, '0')}`;
      const from = sent.length;
      const started = await post('/api/request-token', { phoneNumber });
      if (started.status !== 201) throw new Error(`request-token ${started.status} ${started.text}`);
      const middle = sent.length;
      const code = h.sim.currentCode(started.body.requestId) ?? '';
      const verified = await post('/api/verify-token', { requestId: started.body.requestId, code });
      if (verified.status !== 200) throw new Error(`verify-token ${verified.status} ${verified.text}`);
      // Writes held to the end of the answer's turn (a lock's release, the guard's note) land here.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const steps = [
        ['request-token', sent.slice(from, middle)],
        ['verify-token', sent.slice(middle)],
      ] as const;
      for (const [step, commands] of steps) {
        const batches = new Set(commands.map((c) => c.batch)).size;
        console.log(`flow ${flow} ${step}: ${commands.length} commands, ${batches} round trips`);
        if (flow === flows - 1) {
          for (const c of commands) console.log(`  #${c.batch} ${c.command} ${c.key}`);
        }
      }
    }
  } finally {
    await h.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
