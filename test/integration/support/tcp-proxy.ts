import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback TCP proxy to a broker: stands for a second broker node in failover tests. `kill()`
 * closes the listener and cuts every connection, as a node that dies; `freeze()` keeps every
 * connection open and passes nothing more either way, as a node behind a partition.
 */
export async function startTcpProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  let accepted = 0;
  const server = createServer((inbound) => {
    accepted++;
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    pairs.push([inbound, outbound]);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    /** Connections accepted so far. */
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size / 2;
    },
    /** From now on nothing passes: bytes already sent stay unread, no FIN and no RST reach either side. */
    freeze() {
      server.close();
      for (const [inbound, outbound] of pairs) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
    },
    async kill() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
