import { describe, expect, it } from 'vitest';
import {
  CRASHES_BEFORE_DROP,
  DirectReplyCrashes,
  RECENT_REPLIES,
} from '../../../lib/rabbitmq/rabbit-reply-crashes.js';

const DIRECT = 'amq.rabbitmq.reply-to.g1h2AA5yZXBseUA0.abc';

describe('DirectReplyCrashes', () => {
  it('takes a request as poison once its reply preceded every one of the last crashes', () => {
    const crashes = new DirectReplyCrashes();
    for (let i = 0; i < CRASHES_BEFORE_DROP; i++) {
      expect(crashes.takePoison(DIRECT, 'c1')).toBe(false);
      const crashed = crashes.connection();
      crashes.published(DIRECT, 'c1');
      crashed();
    }
    expect(crashes.takePoison(DIRECT, 'c1')).toBe(true);
    expect(crashes.takePoison(DIRECT, 'c1')).toBe(false); // forgotten once taken
  });

  it('counts only direct reply-to addresses and replies of the connection that crashed', () => {
    const crashes = new DirectReplyCrashes();
    for (let i = 0; i < CRASHES_BEFORE_DROP; i++) {
      const crashed = crashes.connection();
      crashes.published('my-reply-queue', 'c1');
      crashes.published(DIRECT, 'c2');
      crashes.connection(); // a new connection: c3's reply is not the crashed one's
      crashes.published(DIRECT, 'c3');
      crashed();
    }
    expect(crashes.takePoison('my-reply-queue', 'c1')).toBe(false);
    expect(crashes.takePoison(DIRECT, 'c2')).toBe(true);
    expect(crashes.takePoison(DIRECT, 'c3')).toBe(false);
  });

  it('does not take a request after a single crash, nor one without a correlation id', () => {
    const crashes = new DirectReplyCrashes();
    const crashed = crashes.connection();
    crashes.published(DIRECT, 'c1');
    crashes.published(DIRECT, undefined);
    crashed();
    expect(crashes.takePoison(DIRECT, 'c1')).toBe(false);
    expect(crashes.takePoison(DIRECT, undefined)).toBe(false);
  });

  it('counts the last replies of a connection only, and each of them once per crash', () => {
    const crashes = new DirectReplyCrashes();
    for (let i = 0; i < CRASHES_BEFORE_DROP; i++) {
      const crashed = crashes.connection();
      crashes.published(DIRECT, 'old');
      for (let n = 0; n < RECENT_REPLIES; n++) crashes.published(DIRECT, n % 2 ? 'stream' : `r${n}`);
      crashed();
    }
    expect(crashes.takePoison(DIRECT, 'old')).toBe(false); // pushed out of the ring before each crash
    expect(crashes.takePoison(DIRECT, 'r0')).toBe(true);
    expect(crashes.takePoison(DIRECT, 'stream')).toBe(true); // many replies, one count per crash
    const once = new DirectReplyCrashes();
    const crashed = once.connection();
    for (let n = 0; n < 3; n++) once.published(DIRECT, 'stream');
    crashed();
    expect(once.takePoison(DIRECT, 'stream')).toBe(false); // three replies in one crash count as one
  });
});
