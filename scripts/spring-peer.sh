#!/usr/bin/env bash
# Builds the Spring Kafka ReplyingKafkaTemplate caller of the Spring interop test (test/interop/spring)
# with Maven into .brokers/spring-peer/spring-caller.jar, with its own local repository .brokers/m2 so
# a clean clone builds it. Idempotent: a jar built from the current pom and sources is left alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SRC=test/interop/spring
OUT=.brokers/spring-peer
JAR=$OUT/spring-caller.jar
STAMP=$OUT/.sources.sha256

want=$(find "$SRC" -type f \( -name pom.xml -o -name '*.java' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [[ -f $JAR && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "[spring-peer] $JAR is up to date"
  exit 0
fi

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "[spring-peer] needs $tool (Java 17+ and Maven) on PATH" >&2; exit 1; }
done
echo "[spring-peer] building $JAR (Maven, local repository .brokers/m2)"
mkdir -p .brokers/m2
mvn -B -q -Dmaven.repo.local="$PWD/.brokers/m2" -f "$SRC/pom.xml" package
echo "$want" >"$STAMP"
echo "[spring-peer] built $JAR"
