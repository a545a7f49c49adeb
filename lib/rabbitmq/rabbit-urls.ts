import type { Options } from 'amqplib';
import { RpcConnectionError } from '../core/errors.js';

/**
 * A broker URL string as the amqplib connect object it stands for, read the way amqplib reads the
 * string form: brackets off an IPv6 host, user and password unescaped (guest/guest when both are
 * absent), the vhost left escaped (amqplib unescapes it for both forms), and the query's `heartbeat`,
 * `frameMax`, `channelMax`, `maxFrameSize` and `locale`.
 */
export function toConnectObject(url: string | Options.Connect): Options.Connect {
  if (typeof url !== 'string') return url;
  const parts = new URL(url);
  const target: Options.Connect & Record<string, unknown> = {
    protocol: parts.protocol.replace(/:$/, ''),
    hostname: parts.hostname.replace(/^\[|\]$/g, ''),
  };
  if (parts.port) target.port = Number(parts.port);
  if (parts.username !== '' || parts.password !== '') {
    target.username = unescape(parts.username);
    target.password = unescape(parts.password);
  }
  if (parts.pathname.length > 1) target.vhost = parts.pathname.slice(1);
  for (const key of ['heartbeat', 'frameMax', 'channelMax', 'maxFrameSize', 'locale']) {
    const value = parts.searchParams.get(key);
    if (value !== null) target[key] = value;
  }
  return target;
}

const FIELDS = [
  'protocol',
  'hostname',
  'port',
  'username',
  'password',
  'vhost',
  'heartbeat',
  'frameMax',
  'channelMax',
  'maxFrameSize',
  'locale',
] as const;

/**
 * Several broker URLs as the one connect object amqplib's recovery holds on to. amqplib recovers a
 * single URL; it reads the object's fields again on every attempt, so moving the object to the next
 * URL after a failed attempt makes its recovery (backoff, setup, events) fail over across a cluster.
 */
export class UrlRotation {
  private readonly targets: Options.Connect[];
  private index = 0;
  /** The object to hand to `amqp.connect`: its fields are those of the current URL. */
  readonly target: Options.Connect;

  constructor(private readonly urls: Array<string | Options.Connect>) {
    if (urls.length === 0) throw new RangeError('UrlRotation needs at least one URL');
    this.targets = urls.map((url, index) => {
      try {
        return toConnectObject(url);
      } catch {
        // not the URL itself in the message: it may hold a password
        throw new RpcConnectionError(`urls[${index}] is not a valid URL`);
      }
    });
    // amqplib's recovery re-reads these per attempt (checked against amqplib 2.3.1; amqplib-internals.spec.ts guards it)
    const target: Record<string, unknown> = {};
    for (const field of FIELDS) {
      Object.defineProperty(target, field, {
        enumerable: true,
        get: () => (this.targets[this.index] as Record<string, unknown>)[field],
      });
    }
    this.target = target as Options.Connect;
  }

  /** The current URL as the user gave it. */
  get current(): string | Options.Connect {
    return this.urls[this.index]!;
  }

  /** Points the target at URL `index` (modulo the count). */
  select(index: number): void {
    this.index = index % this.urls.length;
  }

  /** Points the target at the next URL; returns it. */
  next(): string | Options.Connect {
    this.select(this.index + 1);
    return this.current;
  }
}
