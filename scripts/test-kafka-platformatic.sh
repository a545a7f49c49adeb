#!/usr/bin/env bash
# The Kafka suite (test/integration/kafka, its conformance runs, FastStream's Kafka and Spring interop,
# and the pack test of an app with only @platformatic/kafka installed) on the platformatic driver.
# @platformatic/kafka needs Node >= 22.22 or >= 24.6: this runs it on Node 24 from the npm registry's
# `node` package (scripts/node24.sh installs it into .brokers/node24, apart from the machine's Node).
# Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

NODE24=$(bash scripts/node24.sh)
echo "[kafka:platformatic] Node $("$NODE24" --version)"
export TEST_KAFKA_DRIVER=platformatic
exec "$NODE24" node_modules/vitest/vitest.mjs run test/integration/kafka test/interop/faststream.spec.ts test/interop/spring.spec.ts test/pack/kafka-pack.spec.ts -t '^(?!FastStream interop (RabbitMQ|NATS))' "$@"
