// The gateway's endpoints called over HTTP, each with what it must answer. Every check prints its
// outcome and returns whether it matched.
import { isDeepStrictEqual } from 'node:util';
import { SLOW_TIMEOUT_MS } from '../src/gateway/math-http.controller.js';
import { details, GrowingLine, note, seconds, show, step } from './print.js';

type Json = Record<string, any>;

async function get(base: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(base + path);
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

function call(path: string): string {
  return `GET ${path}`.padEnd(26);
}

/** Prints what differs from the expectation; returns true when nothing does. */
function verdict(problems: string[]): boolean {
  for (const problem of problems) note(`expected ${problem}`);
  return problems.length === 0;
}

function expectStatus(status: number, wanted: number, body: Json, problems: string[]): void {
  if (status !== wanted) problems.push(`HTTP ${wanted}, got ${status} ${show(body)}`);
}

export async function sum(base: string): Promise<boolean> {
  const path = '/sum?numbers=1,2,3,4';
  const { status, body } = await get(base, path);
  const problems: string[] = [];
  expectStatus(status, 200, body, problems);
  if (body.sum !== 10) problems.push(`{"sum":10}, got ${show(body)}`);
  step(problems.length === 0, 'sum', `${call(path)}→ ${status} ${show(body)}`);
  return verdict(problems);
}

export async function stream(base: string): Promise<boolean> {
  const path = '/count?to=5';
  const problems: string[] = [];
  const started = performance.now();
  const res = await fetch(base + path);
  const values: unknown[] = [];
  // On a terminal the values are printed as their lines arrive, then the mark is put in front.
  const line = new GrowingLine(`${'stream'.padEnd(15)}${call(path)}→ ${res.status}`);
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body ?? []) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      const frame = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      if ('error' in frame) problems.push(`only values, got ${show(frame)}`);
      else values.push(frame.value);
      line.add(` ${show(frame.value ?? frame.error?.error)}`);
    }
  }
  if (res.status !== 200) problems.push(`HTTP 200, got ${res.status} ${buffered}`);
  if (!isDeepStrictEqual(values, [1, 2, 3, 4, 5])) problems.push(`1 2 3 4 5, got ${show(values)}`);
  line.end(problems.length === 0);
  note(
    `${values.length} values, one NDJSON line each as it came, over ${seconds(performance.now() - started)}`,
  );
  return verdict(problems);
}

export async function remoteError(base: string): Promise<boolean> {
  const path = '/divide?a=1&b=0';
  const { status, body } = await get(base, path);
  const problems: string[] = [];
  expectStatus(status, 422, body, problems);
  if (body.error !== 'RpcRemoteError') problems.push(`RpcRemoteError, got ${show(body.error)}`);
  if (body.kind !== 'exception') problems.push(`kind "exception", got ${show(body.kind)}`);
  if (body.payload?.code !== 'E_DIVIDE_BY_ZERO')
    problems.push(`payload.code E_DIVIDE_BY_ZERO, got ${show(body.payload)}`);
  step(problems.length === 0, 'remote error', `${call(path)}→ ${status} ${body.error}`);
  details([
    ['kind', body.kind],
    ['payload', body.payload],
  ]);
  return verdict(problems);
}

export async function timeout(base: string): Promise<boolean> {
  const path = '/slow';
  const { status, body } = await get(base, path);
  const problems: string[] = [];
  expectStatus(status, 504, body, problems);
  if (body.error !== 'RpcTimeoutError') problems.push(`RpcTimeoutError, got ${show(body.error)}`);
  if (body.pattern !== 'math.slow') problems.push(`pattern math.slow, got ${show(body.pattern)}`);
  if (typeof body.correlationId !== 'string' || body.correlationId === '') problems.push('a correlationId');
  if (body.timeoutMs !== SLOW_TIMEOUT_MS)
    problems.push(`timeoutMs ${SLOW_TIMEOUT_MS}, got ${show(body.timeoutMs)}`);
  // A timeout never fires early: that is the package's promise, not a speed figure.
  if (!(body.elapsedMs >= SLOW_TIMEOUT_MS))
    problems.push(`elapsedMs ≥ ${SLOW_TIMEOUT_MS}, got ${show(body.elapsedMs)}`);
  step(problems.length === 0, 'timeout', `${call(path)}→ ${status} ${body.error}`);
  details([
    ['pattern', body.pattern],
    ['correlationId', body.correlationId],
    ['timeoutMs', body.timeoutMs],
    ['elapsedMs', body.elapsedMs],
  ]);
  return verdict(problems);
}

export async function noResponders(base: string): Promise<boolean> {
  const path = '/nobody';
  const { status, body } = await get(base, path);
  const problems: string[] = [];
  expectStatus(status, 503, body, problems);
  if (body.error !== 'RpcNoRespondersError') problems.push(`RpcNoRespondersError, got ${show(body.error)}`);
  if (body.pattern !== 'math.nobody') problems.push(`pattern math.nobody, got ${show(body.pattern)}`);
  step(problems.length === 0, 'no responders', `${call(path)}→ ${status} ${body.error}`);
  details([['pattern', body.pattern]]);
  return verdict(problems);
}
