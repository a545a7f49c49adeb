#!/usr/bin/env bash
# Prints the path of a Node 24 binary for the runs that need @platformatic/kafka's Node (>= 24.6 on the
# 24 line): the npm registry's `node` package, installed once into .brokers/node24 so that it never
# shadows the machine's Node in other npm scripts. Checks the version it prints.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PREFIX=.brokers/node24
NODE24="$PREFIX/node_modules/node/bin/node"
if [[ ! -x "$NODE24" ]]; then
  echo "[node24] installing Node 24 into $PREFIX" >&2
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error node@24 >&2
fi
"$NODE24" -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major !== 24 || minor < 6) {
    console.error(`[node24] expected Node 24.6 or later on the 24 line, got ${process.version}`);
    process.exit(1);
  }
'
echo "$PWD/$NODE24"
