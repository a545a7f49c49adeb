/** What `status` emits on clients and servers. `blocked`/`unblocked` come from RabbitMQ flow control. */
export type RpcStatus = 'connected' | 'disconnected' | 'reconnecting' | 'blocked' | 'unblocked';

/** Events a client or server reports through `on(event, callback)`. */
export type RpcEvents = {
  connected: () => void;
  disconnected: (error?: Error) => void;
  reconnecting: () => void;
  blocked: (reason: string) => void;
  unblocked: () => void;
  error: (error: Error) => void;
};
