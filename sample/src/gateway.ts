// The gateway alone: node --import ./scripts/register-ts.mjs sample/src/gateway.ts [nats|rabbitmq|kafka]
import { startGateway } from './apps.js';
import { brokerTransport } from './transports.js';

const transport = brokerTransport(process.argv[2]);
const port = Number(process.env.PORT ?? 3000);
const gateway = await startGateway(transport, ['log', 'warn', 'error'], port);
gateway.enableShutdownHooks();
console.log(`gateway: http://127.0.0.1:${port}, calling the worker over ${transport.via}`);
