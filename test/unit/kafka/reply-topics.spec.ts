import { describe, expect, it } from 'vitest';
import {
  MAX_REPLY_TOPICS_CACHED,
  ReplyTopics,
  type TopicLookupResult,
} from '../../../lib/kafka/reply-topics.js';

/** A cluster of named topics with partition counts, counting metadata lookups, on a manual clock. */
function cluster(topics: Record<string, number | 'forbidden'>) {
  const lookups: string[] = [];
  let now = 0;
  let failing = false;
  const replyTopics = new ReplyTopics(
    async (topic): Promise<TopicLookupResult> => {
      lookups.push(topic);
      if (failing) throw new Error('broker unreachable');
      return topics[topic] ?? 'missing';
    },
    1_000,
    () => now,
  );
  return {
    replyTopics,
    lookups,
    topics,
    advance: (ms: number) => (now += ms),
    fail: (on: boolean) => (failing = on),
  };
}

describe('ReplyTopics', () => {
  it('looks a topic up once, then answers from the cache', async () => {
    const c = cluster({ replies: 2 });
    expect(await c.replyTopics.check('replies')).toBeUndefined();
    expect(await c.replyTopics.check('replies', 1)).toBeUndefined();
    expect(c.lookups).toEqual(['replies']);
  });

  it('shares one lookup between concurrent checks of a topic', async () => {
    const c = cluster({ replies: 1 });
    await Promise.all([
      c.replyTopics.check('replies'),
      c.replyTopics.check('replies'),
      c.replyTopics.check('nope'),
    ]);
    expect(c.lookups).toEqual(['replies', 'nope']);
  });

  it('refuses a missing topic and remembers it until the recheck interval passed', async () => {
    const c = cluster({});
    expect(await c.replyTopics.check('nope')).toBe('the topic does not exist');
    expect(await c.replyTopics.check('nope')).toBe('the topic does not exist');
    expect(c.lookups).toEqual(['nope']);
    c.topics.nope = 1; // created meanwhile
    c.advance(1_000);
    expect(await c.replyTopics.check('nope')).toBeUndefined();
    expect(c.lookups).toEqual(['nope', 'nope']);
  });

  it('refuses a partition beyond the count, and reads the count again after the interval', async () => {
    const c = cluster({ replies: 1 });
    expect(await c.replyTopics.check('replies', 3)).toBe("partition 3 is beyond the topic's 1 partition(s)");
    expect(await c.replyTopics.check('replies', 3)).toBe("partition 3 is beyond the topic's 1 partition(s)");
    expect(c.lookups).toEqual(['replies']);
    c.topics.replies = 4; // partitions added
    c.advance(1_000);
    expect(await c.replyTopics.check('replies', 3)).toBeUndefined();
    expect(await c.replyTopics.check('replies', 3)).toBeUndefined();
    expect(c.lookups).toEqual(['replies', 'replies']);
  });

  it('refuses an illegal topic name without a lookup', async () => {
    const c = cluster({});
    expect(await c.replyTopics.check('no/such topic')).toBe('not a legal topic name');
    expect(c.lookups).toEqual([]);
  });

  it('refuses a topic the server may not describe', async () => {
    const c = cluster({ secret: 'forbidden' });
    expect(await c.replyTopics.check('secret')).toBe('this server may not describe the topic');
    expect(await c.replyTopics.check('secret')).toBe('this server may not describe the topic');
    expect(c.lookups).toEqual(['secret']);
  });

  it('lets a reply through when the lookup itself fails, and keeps a known count', async () => {
    const c = cluster({ replies: 1 });
    c.fail(true);
    expect(await c.replyTopics.check('replies')).toBeUndefined();
    c.fail(false);
    expect(await c.replyTopics.check('replies', 5)).toBe("partition 5 is beyond the topic's 1 partition(s)");
    c.advance(1_000);
    c.fail(true);
    expect(await c.replyTopics.check('replies', 5)).toBe("partition 5 is beyond the topic's 1 partition(s)");
  });

  it('looks a forgotten topic up again (deleted since it was cached)', async () => {
    const c = cluster({ replies: 1 });
    await c.replyTopics.check('replies');
    delete c.topics.replies;
    c.replyTopics.forget('replies');
    expect(await c.replyTopics.check('replies')).toBe('the topic does not exist');
    expect(c.lookups).toEqual(['replies', 'replies']);
  });

  it('keeps at most MAX_REPLY_TOPICS_CACHED missing topics, dropping the oldest', async () => {
    const c = cluster({});
    for (let i = 0; i <= MAX_REPLY_TOPICS_CACHED; i++) await c.replyTopics.check(`nope-${i}`);
    c.lookups.length = 0;
    await c.replyTopics.check(`nope-${MAX_REPLY_TOPICS_CACHED}`);
    await c.replyTopics.check('nope-1');
    expect(c.lookups).toEqual([]);
    await c.replyTopics.check('nope-0');
    expect(c.lookups).toEqual(['nope-0']);
  });
});
