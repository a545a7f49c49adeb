import type { ClusterEnv } from '../broker-env.mjs';
export const DEFAULT_NATS_CLUSTER_TIMEOUT_S: number;
export function startNode(env: ClusterEnv, i: number): void;
export function ready(env: ClusterEnv, timeoutMs?: number): Promise<void>;
export function up(env: ClusterEnv): Promise<void>;
export function down(env: ClusterEnv): Promise<void>;
export function killNode(env: ClusterEnv, i: number): Promise<boolean>;
export function status(env: ClusterEnv): Promise<string[]>;
/** The node (index) a connection named `name` is attached to. */
export function nodeOf(env: ClusterEnv, name: string): Promise<number | undefined>;
