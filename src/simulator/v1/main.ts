// Standalone Verify v1 simulator (`npm run simulator`) for other services' local development and for
// benchmarks: configured from SIMULATOR_* variables, stopped cleanly by SIGTERM/SIGINT.

import { type Clock, systemClock, VirtualClock } from '../../clock';
import { closeOnSignals, runEntry } from '../process';
import { VerifySimulator } from './simulator';

function readPort(raw: string | undefined): number {
  const port = Number(raw ?? 3100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SIMULATOR_PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

async function main(): Promise<void> {
  const port = readPort(process.env.SIMULATOR_PORT);
  const host = process.env.SIMULATOR_HOST || '127.0.0.1';
  const apiKey = process.env.SIMULATOR_API_KEY || 'sandbox';
  const apiSecret = process.env.SIMULATOR_API_SECRET || 'sandbox-secret';
  // A virtual clock lets a benchmark or another process move time through POST /_simulator/clock/advance.
  const clock: Clock = process.env.SIMULATOR_VIRTUAL_CLOCK === 'true' ? new VirtualClock() : systemClock;

  const simulator = new VerifySimulator({ apiKey, apiSecret, clock });
  const url = await simulator.listen(port, host);
  // Credentials are echoed only when they are the public defaults; otherwise the variables are named.
  const key = process.env.SIMULATOR_API_KEY ? 'process.env.SIMULATOR_API_KEY' : `'${apiKey}'`;
  const secret = process.env.SIMULATOR_API_SECRET ? 'process.env.SIMULATOR_API_SECRET' : `'${apiSecret}'`;
  console.log(
    `Vonage Verify v1 simulator listening on ${url} (${clock === systemClock ? 'real' : 'virtual'} clock): ` +
      `point the SDK at it with new Vonage({ apiKey: ${key}, apiSecret: ${secret} }, { apiHost: '${url}' }); ` +
      `control API under ${url}/_simulator/`,
  );

  closeOnSignals(() => simulator.close());
}

runEntry(main);
