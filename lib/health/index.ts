export {
  RpcHealthIndicator,
  DEFAULT_HEALTH_TIMEOUT,
  type RpcHealthOptions,
  type RpcHealthConnection,
} from './rpc-health-indicator.js';
