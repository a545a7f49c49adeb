import type { Admin } from 'kafkajs';
import type { ClusterEnv } from '../broker-env.mjs';
export const DEFAULT_KAFKA_CLUSTER_TIMEOUT_S: number;
export const KAFKA_CLUSTER_HEAP: string[];
export const KAFKA_BROKER_SESSION_TIMEOUT_MS: number;
export const KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: number;
export const KAFKA_REPLICA_LAG_TIME_MAX_MS: number;
export const KAFKA_QUORUM_FETCH_TIMEOUT_MS: number;
export const KAFKA_QUORUM_ELECTION_TIMEOUT_MS: number;
export interface PartitionState {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}
export function startNode(env: ClusterEnv, i: number): void;
export function admin(env: ClusterEnv): Promise<Admin>;
export function partitionsOf(env: ClusterEnv, topics: string[]): Promise<PartitionState[]>;
export function ready(env: ClusterEnv, topics?: string[], timeoutMs?: number): Promise<void>;
export function up(env: ClusterEnv): Promise<void>;
export function down(env: ClusterEnv): Promise<void>;
export function killNode(env: ClusterEnv, i: number): Promise<boolean>;
/** The node id of the active controller, from the nodes' logs; undefined when none logged it. */
export function activeController(env: ClusterEnv): number | undefined;
/** The node (index) with node id `id`. */
export function indexOf(env: ClusterEnv, id: number): number;
export function status(env: ClusterEnv): Promise<string[]>;
