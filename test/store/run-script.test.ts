// Scripts go by digest (EVALSHA); a Redis that does not have one yet (restarted, or a new Cluster node)
// answers NOSCRIPT, and the script's text is sent once, which loads it for the calls after.

import { createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { runScript } from '../../src/store/redis/run-script';
import type { LuaScript } from '../../src/store/redis/scripts';
import { RESERVE } from '../../src/store/redis/scripts';
import { removeTestKeys, testPrefix, testRedisUrl } from '../support/test-redis';

let redis: Redis;
let prefix: string;

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  prefix = testPrefix();
});

afterAll(async () => {
  await removeTestKeys(prefix);
  redis.disconnect();
});

/** A script Redis cannot have seen: its text is unique to this run. */
function freshScript(): LuaScript {
  const source = `#!lua\n-- ${randomBytes(8).toString('hex')}\nredis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

test('a script Redis does not know yet runs (its text is sent once) and is then known by its digest', async () => {
  const script = freshScript();
  const sentText = jest.spyOn(redis, 'eval');
  expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
  expect(await runScript(redis, script, [`${prefix}{a}`], ['one'])).toBe('one');
  expect(sentText).toHaveBeenCalledTimes(1);
  expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
  expect(await runScript(redis, script, [`${prefix}{a}`], ['two'])).toBe('two');
  expect(sentText).toHaveBeenCalledTimes(1);
  expect(await redis.get(`${prefix}{a}`)).toBe('two');
  sentText.mockRestore();
});

test("the scripts' digests are the SHA-1 of their text (what Redis names them by)", async () => {
  expect(RESERVE.sha).toBe(createHash('sha1').update(RESERVE.source).digest('hex'));
  expect(await redis.script('LOAD', RESERVE.source)).toBe(RESERVE.sha);
});

test("a script's own error is not taken for a missing script: it is thrown, the text is not resent", async () => {
  const source = `#!lua\n-- ${randomBytes(8).toString('hex')}\nreturn redis.error_reply('BROKEN on purpose')`;
  const script = { source, sha: createHash('sha1').update(source).digest('hex') };
  await redis.script('LOAD', source);
  const sentText = jest.spyOn(redis, 'eval');
  await expect(runScript(redis, script, [`${prefix}{b}`], [])).rejects.toThrow(/BROKEN on purpose/);
  expect(sentText).not.toHaveBeenCalled();
  sentText.mockRestore();
});
