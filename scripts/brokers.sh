#!/usr/bin/env bash
# Run the three brokers on loopback, without Docker, for the integration tests, the demo and the benchmarks.
#
#   scripts/brokers.sh up|down|restart|status [kafka|nats|rabbitmq]...   (no broker = all three)
#   scripts/brokers.sh install [kafka|nats|rabbitmq|cluster-tools]...     packages and jars only, nothing started
#   scripts/brokers.sh cluster up|down|status [kafka|nats|rabbitmq]...   3-node clusters (scripts/cluster/)
#
#   nats      Debian's nats-server, JetStream on, 127.0.0.1:4222
#   rabbitmq  Debian's rabbitmq-server, 127.0.0.1:5672, guest/guest (loopback only)
#   kafka     Apache Kafka jars from Maven Central (scripts/kafka/pom.xml), KRaft broker+controller,
#             127.0.0.1:9092 (controller 127.0.0.1:9093; SASL_SSL 127.0.0.1:9094, see secure-brokers.mjs)
#
# Those are the standard ports. BROKERS_PORT_BASE=B runs another set of brokers on ports derived from B,
# with its own state folder and Erlang node name (scripts/broker-env.mjs is the one place that scheme
# is written; the test suite runs its own set that way).
#
# Missing Debian packages are installed with apt-get. State (pid files, logs, data) lives in .brokers/
# (override with BROKERS_STATE_DIR). A broker already answering on its port is reused and left alone,
# unless BROKERS_REQUIRE_OWN=1, which makes that an error (the test suite must own its brokers);
# down/restart only stop what this script started (it has a pid file for it).
#
# Environment: BROKERS_TIMEOUT_{NATS,RABBITMQ,KAFKA} seconds to wait for readiness (60/60/120),
#              KAFKA_HEAP_OPTS (default -Xms256m -Xmx512m).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The ports, state folder and node name of this set of brokers, exported for the readiness probe.
_broker_env=$(node "$ROOT/scripts/broker-env.mjs") || exit 1
set -a
eval "$_broker_env"
set +a
STATE="$BROKERS_STATE_DIR"
HOST="$BROKERS_HOST"
# Kafka's jars do not depend on the set: every set shares one copy.
KAFKA_LIBS="${BROKERS_KAFKA_LIBS:-$ROOT/.brokers/kafka-libs}"
REQUIRE_OWN="${BROKERS_REQUIRE_OWN:-0}"
TIMEOUT_NATS="${BROKERS_TIMEOUT_NATS:-60}"
TIMEOUT_RABBITMQ="${BROKERS_TIMEOUT_RABBITMQ:-60}"
TIMEOUT_KAFKA="${BROKERS_TIMEOUT_KAFKA:-120}"
ALL_BROKERS=(nats rabbitmq kafka)

log() { printf '[brokers] %s\n' "$*"; }
err() { printf '[brokers] ERROR: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# apt_install PACKAGE...: install Debian packages, refreshing the package lists once if needed.
apt_install() {
  local t0
  t0=$(now)
  log "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for the dpkg lock if another apt-get is running; fd 9 (our lock) must not leak into
  # services a package might start.
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
  if ! as_root "${apt[@]}" install --no-install-recommends "$@" >"$STATE/apt.log" 2>&1 9>&-; then
    as_root "${apt[@]}" update >>"$STATE/apt.log" 2>&1 9>&- || true
    if ! as_root "${apt[@]}" install --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1 9>&-; then
      tail -n 30 "$STATE/apt.log" >&2
      err "apt-get install $* failed (log: $STATE/apt.log)"
      return 1
    fi
  fi
  log "installed $* in $(since "$t0")s"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# pid_of NAME: print the pid recorded for a broker this script started, if that process is alive.
pid_of() {
  local f="$STATE/$1/$1.pid" pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  else
    rm -f "$f"
    return 1
  fi
}

# spawn PIDFILE LOGFILE CMD...: start CMD in its own session, detached from this shell, and record its
# pid (in PIDFILE and SPAWNED_PID). fd 9 (the lock) is closed so the daemon does not keep holding it.
spawn() {
  local pidfile=$1 logfile=$2
  shift 2
  # Logs are appended across restarts; keep one older generation once a log passes 20 MB.
  if [[ -f $logfile ]] && (($(stat -c %s "$logfile") > 20 * 1024 * 1024)); then mv -f "$logfile" "$logfile.1"; fi
  printf '===== %s: started by scripts/brokers.sh =====\n' "$(date -Is)" >>"$logfile"
  # shellcheck disable=SC2016 # expanded by the child shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  local _
  for _ in $(seq 50); do
    if [[ -s $pidfile ]]; then
      SPAWNED_PID=$(<"$pidfile")
      return 0
    fi
    sleep 0.1
  done
  err "could not start $1"
  return 1
}

# stop_pid NAME PID TIMEOUT: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 timeout=$3 _
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq $((timeout * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  err "$name (pid $pid) did not stop within ${timeout}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

fail_with_log() {
  local name=$1
  shift
  err "$name did not become ready; last lines of its log:"
  local f
  for f in "$@"; do
    [[ -f $f ]] || continue
    printf -- '----- %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

need_node_modules() {
  if [[ ! -d $ROOT/node_modules/kafkajs || ! -d $ROOT/node_modules/amqplib ]]; then
    err "node_modules is missing kafkajs/amqplib (used for readiness checks): run npm ci first"
    return 1
  fi
}

# wait_probe NAME TIMEOUT PID: the real client check from scripts/broker-ready.mjs.
wait_probe() { node "$ROOT/scripts/broker-ready.mjs" "$1" "$2" ${3:+"$3"}; }

# ---------------------------------------------------------------------------------------------- NATS
NATS_DIR="$STATE/nats"
NATS_LOG="$NATS_DIR/nats.log"

nats_ready() {
  # A NATS server greets every TCP client with an INFO line.
  timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$NATS_PORT && IFS= read -r -t 2 line <&3 && [[ \$line == INFO* ]]" \
    2>/dev/null
}

# Succeeds (saying why) when broker $1 needs no start: this script's process runs, or another process
# already holds one of its ports ($3...; $2 names them in the message), which is then reused.
already_up() {
  local name=$1 ports=$2 pid port
  shift 2
  if pid=$(pid_of "$name"); then
    log "$name: already running (pid $pid)"
    return 0
  fi
  for port in "$@"; do
    if port_open "$port"; then
      if [[ $REQUIRE_OWN == 1 ]]; then
        err "$name: $ports is already taken by a process this script did not start (its state is $STATE);" \
          "stop it or choose another port base"
        return 2
      fi
      log "$name: $ports is already taken by a process this script did not start; reusing it"
      return 0
    fi
  done
  return 1
}

nats_install() { command -v nats-server >/dev/null || apt_install nats-server; }

nats_start() {
  local rc=0
  already_up nats "$HOST:$NATS_PORT" "$NATS_PORT" || rc=$?
  ((rc == 1)) || return $((rc == 0 ? 0 : 1))
  nats_install || return 1
  mkdir -p "$NATS_DIR"
  log "nats: starting $(nats-server --version 2>/dev/null) on $HOST:$NATS_PORT (JetStream store $NATS_DIR/jetstream)"
  NATS_T0=$(now)
  spawn "$NATS_DIR/nats.pid" "$NATS_LOG" \
    nats-server --addr "$HOST" --port "$NATS_PORT" --jetstream --store_dir "$NATS_DIR" \
    --server_name "brokers-sh-nats-$NATS_PORT" || return 1
  NATS_PID=$SPAWNED_PID
}

nats_wait() {
  local t0=${NATS_T0:-$(now)} pid deadline
  pid=${NATS_PID:-$(pid_of nats || true)}
  deadline=$(($(date +%s) + TIMEOUT_NATS))
  until nats_ready; do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      fail_with_log nats "$NATS_LOG"
      rm -f "$NATS_DIR/nats.pid"
      err "nats: process $pid exited"
      return 1
    fi
    if (($(date +%s) >= deadline)); then
      fail_with_log nats "$NATS_LOG"
      [[ -n $pid ]] && stop_pid nats "$pid" 10 && rm -f "$NATS_DIR/nats.pid"
      err "nats: not ready within ${TIMEOUT_NATS}s"
      return 1
    fi
    sleep 0.1
  done
  log "nats: ready on nats://$HOST:$NATS_PORT in $(since "$t0")s${pid:+ (pid $pid, log $NATS_LOG)}"
}

nats_stop() {
  local pid
  if pid=$(pid_of nats); then
    stop_pid nats "$pid" 20
    rm -f "$NATS_DIR/nats.pid"
    log "nats: stopped (pid $pid)"
  elif port_open "$NATS_PORT"; then
    log "nats: running but not started by this script; leaving it alone"
  else
    log "nats: not running"
  fi
}

# ------------------------------------------------------------------------------------------ RabbitMQ
RABBIT_DIR="$STATE/rabbitmq"
RABBIT_BIN=/usr/lib/rabbitmq/bin
RABBIT_LOG="$RABBIT_DIR/log/rabbit.log"

# RabbitMQ commands run as the current user with all state under .brokers/rabbitmq (the Debian
# wrappers in /usr/sbin would switch to the rabbitmq user and use /var/lib/rabbitmq instead).
# epmd and Erlang distribution are bound to loopback too; +sbwt none stops idle schedulers spinning.
RABBIT_ENV=(env HOME="$RABBIT_DIR/home"
  RABBITMQ_CONF_ENV_FILE="$RABBIT_DIR/rabbitmq-env.conf"
  RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf"
  RABBITMQ_ADVANCED_CONFIG_FILE="$RABBIT_DIR/advanced.config"
  RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
  RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia"
  RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
  RABBITMQ_LOGS="$RABBIT_LOG"
  RABBITMQ_PID_FILE="$RABBIT_DIR/rabbitmq.pid"
  RABBITMQ_NODENAME="$RABBIT_NODENAME"
  RABBITMQ_USE_LONGNAME=false
  RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT"
  ERL_EPMD_ADDRESS=127.0.0.1
  ERL_CRASH_DUMP="$RABBIT_DIR/erl_crash.dump"
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
  RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")

rabbit_install() {
  [[ -x $RABBIT_BIN/rabbitmq-server ]] && return 0
  apt_install rabbitmq-server || return 1
  # Debian's postinst asks invoke-rc.d to start the system service (as the rabbitmq user, on all
  # interfaces). Where policy-rc.d forbids it (containers, this VM) nothing starts. If it did start,
  # stop it: it is an artefact of this install, and ours must own 127.0.0.1:5672 to restart it.
  if port_open 5672; then # the system service listens on the standard port
    log "rabbitmq: the package started its system service; stopping it in favour of ours"
    as_root /etc/init.d/rabbitmq-server stop >>"$STATE/apt.log" 2>&1 || true
  fi
}

rabbit_start() {
  # The Erlang distribution port is taken as soon as a node starts booting, well before AMQP opens.
  local rc=0
  already_up rabbitmq "$HOST:$AMQP_PORT (or node port $RABBIT_DIST_PORT)" "$AMQP_PORT" "$RABBIT_DIST_PORT" || rc=$?
  ((rc == 1)) || return $((rc == 0 ? 0 : 1))
  rabbit_install || return 1
  mkdir -p "$RABBIT_DIR/home" "$RABBIT_DIR/log" "$RABBIT_DIR/mnesia"
  : >"$RABBIT_DIR/rabbitmq-env.conf"
  [[ -f $RABBIT_DIR/enabled_plugins ]] || echo '[].' >"$RABBIT_DIR/enabled_plugins"
  cat >"$RABBIT_DIR/rabbitmq.conf" <<EOF
# Written by scripts/brokers.sh
listeners.tcp.default = $HOST:$AMQP_PORT
loopback_users.guest = true
default_user = guest
default_pass = guest
log.file.level = info
log.console = false
EOF
  # epmd (Erlang's port mapper) is started on demand by the node; remember whether it was us.
  if ! pgrep -x epmd >/dev/null; then touch "$RABBIT_DIR/epmd.ours"; fi
  log "rabbitmq: starting rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null) on $HOST:$AMQP_PORT"
  RABBIT_T0=$(now)
  # The node rewrites rabbitmq.pid with the Erlang VM's pid once it boots; SPAWNED_PID is the
  # rabbitmq-server shell wrapper, which lives exactly as long as the VM.
  spawn "$RABBIT_DIR/rabbitmq.pid" "$RABBIT_DIR/startup.log" "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmq-server" ||
    return 1
  RABBIT_PID=$SPAWNED_PID
}

rabbit_wait() {
  local t0=${RABBIT_T0:-$(now)} pid rc=0
  pid=${RABBIT_PID:-$(pid_of rabbitmq || true)}
  wait_probe rabbitmq "$TIMEOUT_RABBITMQ" "$pid" || rc=$?
  if ((rc != 0)); then
    fail_with_log rabbitmq "$RABBIT_DIR/startup.log" "$RABBIT_LOG"
    [[ -n $pid ]] && rabbit_stop
    return 1
  fi
  log "rabbitmq: ready on amqp://$HOST:$AMQP_PORT (user guest) in $(since "$t0")s${pid:+ (pid $pid, log $RABBIT_LOG)}"
}

rabbit_stop() {
  local pid
  if pid=$(pid_of rabbitmq); then
    # A clean stop through the CLI (it waits for the node to exit); SIGTERM if that fails.
    if ! timeout 60 "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmqctl" stop "$RABBIT_DIR/rabbitmq.pid" \
      >>"$RABBIT_DIR/startup.log" 2>&1; then
      stop_pid rabbitmq "$pid" 30
    fi
    stop_pid rabbitmq "$pid" 30
    rm -f "$RABBIT_DIR/rabbitmq.pid"
    log "rabbitmq: stopped (pid $pid)"
    if [[ -f $RABBIT_DIR/epmd.ours ]]; then
      # Stop epmd only if we started it and, once the stopped nodes have deregistered (this can lag
      # the node's exit a little), no other Erlang node is registered with it.
      local _
      for _ in $(seq 30); do
        if ! epmd -names 2>/dev/null | grep -q '^name '; then
          epmd -kill >/dev/null 2>&1 || true
          break
        fi
        sleep 0.2
      done
      rm -f "$RABBIT_DIR/epmd.ours"
    fi
  elif port_open "$AMQP_PORT"; then
    log "rabbitmq: running but not started by this script; leaving it alone"
  else
    log "rabbitmq: not running"
  fi
}

# --------------------------------------------------------------------------------------------- Kafka
KAFKA_DIR="$STATE/kafka"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM"; }

# Resolve the broker jars once; the stamp (pom checksum) makes later runs skip Maven entirely.
kafka_libs() {
  local stamp t0
  stamp=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  if [[ -f $KAFKA_LIBS/.stamp && $(<"$KAFKA_LIBS/.stamp") == "$stamp" ]]; then return 0; fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless || return 1
  command -v mvn >/dev/null || apt_install maven || return 1
  t0=$(now)
  log "kafka: resolving Kafka $(kafka_version) jars from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_DIR" "$(dirname "$KAFKA_LIBS")"
  if ! mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS" >"$KAFKA_DIR/maven.log" 2>&1 9>&-; then
    tail -n 30 "$KAFKA_DIR/maven.log" >&2
    err "kafka: Maven could not resolve the jars (log: $KAFKA_DIR/maven.log)"
    return 1
  fi
  echo "$stamp" >"$KAFKA_LIBS/.stamp"
  log "kafka: resolved $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $(since "$t0")s"
}

read -ra KAFKA_HEAP <<<"$KAFKA_HEAP_OPTS"
KAFKA_JAVA=(java "${KAFKA_HEAP[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.properties"
  -Dkafka.logs.dir="$KAFKA_DIR/logs" -cp "$KAFKA_LIBS/*")

kafka_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  command -v openssl >/dev/null || apt_install openssl || return 1
  node "$ROOT/scripts/secure-brokers.mjs" certs || return 1
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by scripts/brokers.sh: single-node KRaft (combined broker + controller) on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_SSL://$HOST:$KAFKA_SASL_SSL_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_SSL://$HOST:$KAFKA_SASL_SSL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# The secure listener (KRaft cannot add one at run time): TLS with the set's certificate
# (scripts/secure-brokers.mjs certs), SCRAM-SHA-512 users (secure-brokers.mjs up kafka adds them).
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$STATE/secure/server-keystore.pem
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
}

kafka_start() {
  local rc=0
  already_up kafka "$HOST:$KAFKA_PORT (or controller $KAFKA_CONTROLLER_PORT)" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" || rc=$?
  ((rc == 1)) || return $((rc == 0 ? 0 : 1))
  kafka_libs || return 1
  kafka_config || return 1
  if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
    local cid t0
    t0=$(now)
    # A cluster id is 16 random bytes in URL-safe base64 without padding (what `kafka-storage random-uuid` prints).
    cid=-
    while [[ $cid == -* ]]; do cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
    rm -rf "$KAFKA_DIR/data"
    mkdir -p "$KAFKA_DIR/data"
    if ! "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --cluster-id "$cid" --config "$KAFKA_DIR/server.properties" \
      --standalone >"$KAFKA_DIR/format.log" 2>&1 9>&-; then
      cat "$KAFKA_DIR/format.log" >&2
      err "kafka: formatting the KRaft storage failed"
      return 1
    fi
    log "kafka: formatted KRaft storage (cluster id $cid) in $(since "$t0")s"
  fi
  log "kafka: starting Kafka $(kafka_version) (KRaft) on $HOST:$KAFKA_PORT, controller $HOST:$KAFKA_CONTROLLER_PORT, heap '$KAFKA_HEAP_OPTS'"
  KAFKA_T0=$(now)
  spawn "$KAFKA_DIR/kafka.pid" "$KAFKA_LOG" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" ||
    return 1
  KAFKA_PID=$SPAWNED_PID
}

kafka_wait() {
  local t0=${KAFKA_T0:-$(now)} pid rc=0
  pid=${KAFKA_PID:-$(pid_of kafka || true)}
  wait_probe kafka "$TIMEOUT_KAFKA" "$pid" || rc=$?
  if ((rc != 0)); then
    fail_with_log kafka "$KAFKA_LOG"
    [[ -n $pid ]] && kafka_stop
    return 1
  fi
  log "kafka: ready on $HOST:$KAFKA_PORT in $(since "$t0")s${pid:+ (pid $pid, log $KAFKA_LOG)}"
}

kafka_stop() {
  local pid
  if pid=$(pid_of kafka); then
    stop_pid kafka "$pid" 60
    rm -f "$KAFKA_DIR/kafka.pid"
    log "kafka: stopped (pid $pid)"
  elif port_open "$KAFKA_PORT"; then
    log "kafka: running but not started by this script; leaving it alone"
  else
    log "kafka: not running"
  fi
}

# ---------------------------------------------------------------------------------------------- main
port_of() {
  case $1 in
    nats) echo "$NATS_PORT" ;;
    rabbitmq) echo "$AMQP_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
  esac
}

start_of() { case $1 in nats) nats_start ;; rabbitmq) rabbit_start ;; kafka) kafka_start ;; esac }
wait_of() { case $1 in nats) nats_wait ;; rabbitmq) rabbit_wait ;; kafka) kafka_wait ;; esac }
stop_of() { case $1 in nats) nats_stop ;; rabbitmq) rabbit_stop ;; kafka) kafka_stop ;; esac }

# What the 3-node clusters and the chaos suite need besides the brokers: nftables for partitions,
# and the tools scripts/cluster/rabbitmq-4.mjs verifies and unpacks Debian 13's packages with.
cluster_tools_install() {
  local -a missing=()
  command -v nft >/dev/null || missing+=(nftables)
  command -v patchelf >/dev/null || missing+=(patchelf)
  command -v gpgv >/dev/null || missing+=(gpgv)
  command -v xz >/dev/null || missing+=(xz-utils)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# install: what `up` needs from the network (packages, jars), without starting anything.
cmd_install() {
  local b
  for b in "$@"; do
    case $b in
      nats) nats_install || return 1 ;;
      rabbitmq) rabbit_install || return 1 ;;
      kafka) kafka_libs || return 1 ;;
      cluster-tools) cluster_tools_install || return 1 ;;
    esac
  done
  log "install: $* installed"
}

cmd_up() {
  local b failed=0 t0
  local -a waits=()
  t0=$(now)
  if [[ " $* " == *" kafka "* || " $* " == *" rabbitmq "* ]]; then need_node_modules; fi
  # Start each broker and wait for it in the background right away: they boot in parallel (also with
  # the next one's install), and each readiness time is measured from its own launch.
  for b in "$@"; do
    if start_of "$b"; then
      wait_of "$b" &
      waits+=($!)
    else
      failed=1
      break
    fi
  done
  for b in "${waits[@]}"; do wait "$b" || failed=1; done
  ((failed == 0)) || return 1
  log "up: $* ready in $(since "$t0")s"
}

cmd_down() {
  local b
  for b in "$@"; do stop_of "$b"; done
}

cmd_restart() {
  local b
  for b in "$@"; do
    if ! pid_of "$b" >/dev/null && port_open "$(port_of "$b")"; then
      err "$b: running but not started by this script, so it cannot be restarted here"
      return 1
    fi
  done
  cmd_down "$@"
  cmd_up "$@"
}

cmd_status() {
  local b pid all_up=0
  for b in "$@"; do
    if pid=$(pid_of "$b") && port_open "$(port_of "$b")"; then
      printf '%-9s up    %s:%s (pid %s, started by brokers.sh)\n' "$b" "$HOST" "$(port_of "$b")" "$pid"
    elif port_open "$(port_of "$b")"; then
      printf '%-9s up    %s:%s (not started by brokers.sh)\n' "$b" "$HOST" "$(port_of "$b")"
    elif pid=$(pid_of "$b"); then
      printf '%-9s down  (pid %s is alive but %s:%s does not answer yet)\n' "$b" "$pid" "$HOST" "$(port_of "$b")"
      all_up=1
    else
      printf '%-9s down\n' "$b"
      all_up=1
    fi
  done
  return $all_up
}

usage() {
  echo "usage: $0 [cluster] up|down|restart|status|install [kafka|nats|rabbitmq]... ($0 install cluster-tools: nftables and the RabbitMQ 4 installer's tools)" >&2
  exit 64
}

main() {
  (($# >= 1)) || usage
  # the 3-node clusters live in a Node module of their own (scripts/cluster/cli.mjs)
  [[ $1 == cluster ]] && exec node "$ROOT/scripts/cluster/cli.mjs" "${@:2}"
  local cmd=$1 b
  shift
  local brokers=("$@")
  ((${#brokers[@]})) || brokers=("${ALL_BROKERS[@]}")
  for b in "${brokers[@]}"; do
    case $b in
      nats | rabbitmq | kafka) ;;
      cluster-tools) [[ $cmd == install ]] || usage ;;
      *) err "unknown broker '$b'" && usage ;;
    esac
  done
  mkdir -p "$STATE"
  if [[ $cmd == status ]]; then
    cmd_status "${brokers[@]}"
    return
  fi
  # One brokers.sh at a time changes a set's state, across checkouts too: its ports are shared.
  exec 9>"${TMPDIR:-/tmp}/brokers-sh-$HOST-$NATS_PORT.lock"
  flock 9
  case $cmd in
    install) cmd_install "${brokers[@]}" ;;
    up) cmd_up "${brokers[@]}" ;;
    down) cmd_down "${brokers[@]}" ;;
    restart) cmd_restart "${brokers[@]}" ;;
    *) usage ;;
  esac
}

main "$@"
