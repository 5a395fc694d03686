// Runs a Lua script from scripts.ts by its digest (EVALSHA), so its text (up to ~1.5 KB, the shared
// window arithmetic included) is not sent with every call. Redis keeps scripts until it restarts (or a
// SCRIPT FLUSH): a NOSCRIPT answer sends the text once (EVAL), which also loads it for the next call.
// In a Cluster both go to the node of the first key, so each node loads the script on first use.
// A frozen Redis still fails within one commandTimeout: only a NOSCRIPT reply (an answer, so Redis is
// up) leads to the second command.

import type { RedisClient } from './client';
import type { LuaScript } from './scripts';

export type ScriptArg = string | number;

export async function runScript(
  redis: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
