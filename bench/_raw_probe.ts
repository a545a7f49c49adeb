import amqp, { type ConsumeMessage, type Channel } from 'amqplib';
import { readFileSync } from 'node:fs';
import { measure } from './harness.js';
import { coalesceWrites } from '../lib/rabbitmq/rabbit-coalesce.js';
const url = 'amqp://guest:guest@127.0.0.1:5672';
const PREFETCH = Number(process.env.PREFETCH ?? 50);
const SCH = Number(process.env.SCH ?? 1), CCH = Number(process.env.CCH ?? 1), SCONN = Number(process.env.SCONN ?? 1);
const EXP = process.env.EXP === '1', MAND = process.env.MAND === '1';
const MULTI = process.env.MULTI === '1', CO = process.env.CO === '1', NOACK = process.env.NOACK === '1';
const payload = { id: 42, name: 'bench', items: [1, 2, 3] };
const beamPid = Number(readFileSync('/work/main/.brokers/rabbitmq/rabbitmq.pid', 'utf8').trim());
const beamCpu = () => { const f = readFileSync(`/proc/${beamPid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const q = 'probe.raw';
async function main() {
  const conns = await Promise.all(Array.from({ length: SCONN }, () => amqp.connect(url, { noDelay: true })));
  if (CO) conns.forEach((c) => coalesceWrites(c));
  for (let i = 0; i < SCH; i++) {
    const sch: Channel = await conns[i % SCONN]!.createChannel();
    await sch.assertQueue(q, { durable: false });
    await sch.prefetch(PREFETCH);
    let pendingAck: ConsumeMessage | undefined; let scheduled = false;
    await sch.consume(q, (msg) => {
      if (!msg) return;
      const request = JSON.parse(msg.content.toString());
      sch.sendToQueue(msg.properties.replyTo, Buffer.from(JSON.stringify(request)), { correlationId: msg.properties.correlationId, contentType: 'application/json' });
      if (NOACK) return;
      if (!MULTI) { sch.ack(msg); return; }
      pendingAck = msg;
      if (!scheduled) { scheduled = true; setImmediate(() => { scheduled = false; sch.ack(pendingAck!, true); }); }
    }, { noAck: NOACK });
  }
  const cconn = await amqp.connect(url, { noDelay: true });
  if (CO) coalesceWrites(cconn);
  const waiting = new Map<string, (msg: ConsumeMessage) => void>();
  const chans: Channel[] = [];
  for (let i = 0; i < CCH; i++) {
    const cch = await cconn.createChannel();
    await cch.consume('amq.rabbitmq.reply-to', (msg) => { const r = msg && waiting.get(msg.properties.correlationId); if (!r) return; waiting.delete(msg!.properties.correlationId); r(msg!); }, { noAck: true });
    chans.push(cch);
  }
  let seq = 0;
  const call = () => new Promise<unknown>((resolve) => {
    const correlationId = String(seq++);
    waiting.set(correlationId, (msg) => resolve(JSON.parse(msg.content.toString())));
    chans[seq % CCH]!.sendToQueue(q, Buffer.from(JSON.stringify(payload)), { correlationId, replyTo: 'amq.rabbitmq.reply-to', contentType: 'application/json', ...(EXP ? { expiration: '30000' } : {}), ...(MAND ? { mandatory: true } : {}) });
  });
  await measure('warm', 64, 1500, call);
  for (let i = 0; i < 2; i++) {
    const b0 = beamCpu(); const n0 = process.cpuUsage();
    const r = await measure('raw', 64, 3000, call, 0);
    const b = beamCpu() - b0; const n = process.cpuUsage(n0);
    console.log(`${JSON.stringify({SCH,CCH,MULTI,NOACK,EXP,MAND})}: ${Math.round(r.rps)} req/s, node ${((n.user + n.system) / r.requests).toFixed(1)} us, broker ${((b * 1000) / r.requests).toFixed(1)} us`);
  }
  process.exit(0);
}
main();
