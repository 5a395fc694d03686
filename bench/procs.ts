// Child processes of the bench: started pinned to a core with taskset (when it exists), watched through
// /proc (VmRSS, CPU time), and always stopped: SIGTERM, then SIGKILL, also on errors and on SIGINT.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last few KB of stderr (and stdout when not sent to a file), for error messages. */
  tail(): string;
  exited: boolean;
}

const running = new Set<Proc>();

export const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** Pins this process (all of its threads) to one core. */
export function pinSelf(cpu: number): boolean {
  if (!hasTaskset) return false;
  return (
    spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' }).status ===
    0
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

export interface StartOptions {
  name: string;
  /** Arguments to node: a compiled script, or `--import <tsx loader> script.ts` as `npm start` does. */
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Core to pin to; undefined: no pinning. */
  cpu: number | undefined;
  /** Where stdout goes: a file path, or undefined to drop it (/dev/null). */
  stdoutFile?: string;
}

export function start(options: StartOptions): Proc {
  const nodeArgs = options.args;
  const [command, args] =
    options.cpu !== undefined && hasTaskset
      ? ['taskset', ['-c', String(options.cpu), process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs];
  const stdout = openSync(options.stdoutFile ?? '/dev/null', 'a');
  // taskset execs node, so the pid is the server's own: /proc/<pid>/status is its memory.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', stdout, 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  const proc: Proc = { name: options.name, pid: child.pid, child, tail: () => tail, exited: false };
  child.once('exit', () => {
    proc.exited = true;
    running.delete(proc);
  });
  running.add(proc);
  return proc;
}

/** Polls `url` until it answers 200, or fails with the process's stderr. */
export async function waitReady(proc: Proc, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exited) throw new Error(`${proc.name} exited during start-up:\n${proc.tail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready at ${url}:\n${proc.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resident set size in MB, from /proc/<pid>/status VmRSS. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const TICKS_PER_SECOND = 100;

/** CPU seconds of the whole machine (all cores) from /proc/stat: busy, and stolen by the hypervisor. */
export function machineCpuSeconds(): { busy: number; steal: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
    return { busy: busy / TICKS_PER_SECOND, steal: (steal ?? 0) / TICKS_PER_SECOND };
  } catch {
    return { busy: Number.NaN, steal: Number.NaN };
  }
}

export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/** user + system CPU seconds used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at state; utime and stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

async function stop(proc: Proc, graceMs: number): Promise<void> {
  if (proc.exited) return;
  const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([exited, timer])) === 'timeout' && !proc.exited) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  }
}

/** Stops every child this module started, by pid. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...running].map((proc) => stop(proc, graceMs)));
}

/** Last resort on process exit: synchronous SIGKILL of whatever is still running. */
export function killAllNow(): void {
  for (const proc of running) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** TCP connections of process `pid` that are open (ESTABLISHED) to `port` on this machine, from /proc. */
export function establishedTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address rem_address st ... inode (field 9)
      if (fields[2]?.endsWith(`:${hexPort}`) && fields[3] === '01' && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return 0;
  let count = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) count += 1;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return Number.NaN;
  }
  return count;
}
