import { describe, expect, it } from 'vitest';
import { RpcConnectionError } from '../../../lib/index.js';
import { toConnectObject, UrlRotation } from '../../../lib/rabbitmq/rabbit-urls.js';

describe('toConnectObject', () => {
  it('reads a URL as amqplib reads the string form', () => {
    expect(
      toConnectObject('amqps://us%40er:p%2Fss@[::1]:5673/v%2Fhost?heartbeat=5&frameMax=8192&locale=fr_FR'),
    ).toEqual({
      protocol: 'amqps',
      hostname: '::1',
      port: 5673,
      username: 'us@er',
      password: 'p/ss',
      vhost: 'v%2Fhost', // amqplib unescapes the vhost of either form itself
      heartbeat: '5',
      frameMax: '8192',
      locale: 'fr_FR',
    });
  });

  it('leaves out what the URL does not say, so amqplib applies its defaults (port, guest/guest, vhost /)', () => {
    expect(toConnectObject('amqp://rabbit-1')).toEqual({ protocol: 'amqp', hostname: 'rabbit-1' });
  });

  it('passes connect objects through', () => {
    const object = { hostname: 'h', port: 1 };
    expect(toConnectObject(object)).toBe(object);
  });
});

describe('UrlRotation', () => {
  it('keeps one target object whose fields follow the selected URL', () => {
    const rotation = new UrlRotation(['amqp://a:1', { hostname: 'b', port: 2 }, 'amqp://u:p@c:3/vh']);
    const { target } = rotation;
    expect([target.hostname, target.port]).toEqual(['a', 1]);
    expect(rotation.next()).toEqual({ hostname: 'b', port: 2 });
    expect([target.hostname, target.port, target.username]).toEqual(['b', 2, undefined]);
    rotation.next();
    expect({ ...target }).toMatchObject({
      hostname: 'c',
      port: 3,
      username: 'u',
      password: 'p',
      vhost: 'vh',
    });
    expect(rotation.next()).toBe('amqp://a:1');
    rotation.select(4);
    expect(target.hostname).toBe('b');
  });
});

describe('UrlRotation with a malformed URL', () => {
  it('fails with RpcConnectionError naming its index, not its text (it may hold a password)', () => {
    const err = (() => {
      try {
        new UrlRotation(['amqp://a', 'amqp://user:secret@[bad']);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(RpcConnectionError);
    expect(err?.message).toBe('urls[1] is not a valid URL');
  });
});
