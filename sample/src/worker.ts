// The worker alone: node --import ./scripts/register-ts.mjs sample/src/worker.ts [nats|rabbitmq|kafka]
import { startWorker } from './apps.js';
import { brokerTransport } from './transports.js';

const transport = brokerTransport(process.argv[2]);
const worker = await startWorker(transport, ['log', 'warn', 'error']);
worker.enableShutdownHooks();
console.log(`worker: math.* over ${transport.via}`);
