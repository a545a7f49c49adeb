// Runs the Spring Kafka ReplyingKafkaTemplate caller (test/interop/spring, built by
// scripts/spring-peer.sh into .brokers/spring-peer) as a child process: it sends its stdin lines as
// requests, all in flight at once, and prints one JSON line per request.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SPRING_JAR = `${ROOT}.brokers/spring-peer/spring-caller.jar`;

/** One request's outcome as the Spring caller saw it. */
export interface SpringOutcome {
  i: number;
  /** The reply value (Spring's StringDeserializer). */
  value?: string;
  partition?: number;
  /** The reply's `kafka_correlationId`, hex. */
  correlationId?: string | null;
  /** The exception's class, e.g. `KafkaReplyTimeoutException`. */
  error?: string;
  message?: string;
}

export interface SpringCall {
  brokers: string;
  requestTopic: string;
  replyTopic: string;
  /** `group`: no `kafka_replyPartition`; `partition:<n>`: Spring sends n as a 4-byte int. */
  mode: 'group' | `partition:${number}`;
  /** `uuid`: Spring's default ids; `binary`: ids that start with bytes that are not UTF-8. */
  correlation: 'uuid' | 'binary';
  groupId: string;
  /** Request values, one a line. */
  values: string[];
  replyTimeoutMs: number;
}

/** Runs the caller to its end; rejects (with its stderr) if it fails as a process. */
export function callSpring(call: SpringCall): Promise<SpringOutcome[]> {
  if (!existsSync(SPRING_JAR))
    throw new Error(`The Spring interop test needs ${SPRING_JAR}: run \`bash scripts/spring-peer.sh\``);
  const args = [
    call.brokers,
    call.requestTopic,
    call.replyTopic,
    call.mode,
    call.correlation,
    String(call.replyTimeoutMs),
    call.groupId,
  ];
  // a small quick JVM: the caller is short-lived and the machine is shared
  const jvm = ['-XX:TieredStopAtLevel=1', '-Xmx256m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn'];
  const child = spawn('java', [...jvm, '-jar', SPRING_JAR, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const outcomes: SpringOutcome[] = [];
  let done = false;
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8_000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const msg = JSON.parse(line) as SpringOutcome & { done?: boolean };
    if (msg.done) done = true;
    else outcomes.push(msg);
  });
  child.stdin.end(call.values.map((v) => `${v}\n`).join(''));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && done) resolve(outcomes);
      else reject(new Error(`Spring caller exited with code ${code}; stderr:\n${stderr}`));
    });
  });
}
