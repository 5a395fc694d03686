// Commands issued in the same turn of the event loop leave in one socket write. ioredis writes each
// command with its own `socket.write`, a syscall each (~20 µs on a VM, waking Redis each time); under
// load many requests issue commands in the same turn. Corking the socket on the first write of a turn
// and uncorking it when the turn's I/O callbacks are done (setImmediate: after every callback of this
// poll phase, not only the current one) sends them as one writev: the replies of several requests that
// arrive together, and requests arriving on several connections at once, share one write. node-redis
// does the same per tick. The wait is within the same turn (pending immediates keep the loop from
// blocking in poll). Unlike ioredis's autoPipelining, no command waits for another's reply, so the
// command timeout (the fail-fast bound under a frozen Redis) is unchanged.

import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const COALESCING = Symbol('otp-verify.writeCoalescing');

type CoalescedSocket = Socket & { [COALESCING]?: true };

function coalesce(socket: CoalescedSocket): void {
  if (socket[COALESCING]) return;
  socket[COALESCING] = true;
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}

/** Coalesces the writes of every connection the client makes (each reconnect brings a new socket). */
export function coalesceWrites(node: Redis): void {
  const apply = () => {
    const stream = (node as unknown as { stream?: unknown }).stream;
    if (stream && typeof (stream as Socket).cork === 'function') coalesce(stream as CoalescedSocket);
  };
  node.on('connect', apply);
  apply();
}
