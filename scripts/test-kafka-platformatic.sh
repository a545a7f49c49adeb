#!/usr/bin/env bash
# The Kafka suite (test/integration/kafka, its conformance runs, FastStream's Kafka and Spring interop,
# and the pack test of an app with only @platformatic/kafka installed) on the platformatic driver.
# @platformatic/kafka needs Node >= 22.22 or >= 24.6: this runs it on Node 24 from the npm registry's
# `node` package, installed into .brokers/node24 so it never shadows the machine's Node in other npm
# scripts. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PREFIX=.brokers/node24
NODE24="$PREFIX/node_modules/node/bin/node"
if [[ ! -x "$NODE24" ]]; then
  echo "[kafka:platformatic] installing Node 24 into $PREFIX"
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error node@24
fi
"$NODE24" -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major !== 24 || minor < 6) {
    console.error(`[kafka:platformatic] expected Node 24.6 or later on the 24 line, got ${process.version}`);
    process.exit(1);
  }
  console.log(`[kafka:platformatic] Node ${process.version}`);
'
export TEST_KAFKA_DRIVER=platformatic
exec "$NODE24" node_modules/vitest/vitest.mjs run test/integration/kafka test/interop/faststream.spec.ts test/interop/spring.spec.ts test/pack/kafka-pack.spec.ts -t '^(?!FastStream interop (RabbitMQ|NATS))' "$@"
