// Where the integration tests find their brokers. scripts/brokers.sh (or docker-compose.yml) runs all
// three on these loopback addresses; the tests fail, rather than skip, when a broker is not there.
export const NATS_URL = 'nats://127.0.0.1:4222';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const KAFKA_BROKERS = ['127.0.0.1:9092'];
