# Sourced by bench/responsiveness and bench/idle-ray: a Ray head and the daemon's worker on
# this machine, each in a private namespace of their own, touching nothing else.
#
#   private_ray_enter "$@"   re-runs the calling script inside new net + pid + mount
#                            namespaces (root); when that script ends, every process of the
#                            namespace (head, daemon, Ray) is killed by the kernel.
#   start_head               `ray start --head --block` at 127.0.0.1:6379, 0 CPUs (tasks go to
#                            the worker), dashboard on 127.0.0.1:8265, in a mount namespace of
#                            its own (tmpfs /tmp/ray and /dev/shm); sets HEAD_PID
#   start_daemon NAME CPUS NICE LEAN [RAY [TOML [ENV]]]   `bittrader-worker daemon` with a
#                            fresh home joining the head as node 127.0.0.2 with that `ray`
#                            (an absolute path; default `RAY`), TOML lines added to `[ray]`
#                            and ENV words (VAR=value) in its environment, in another mount
#                            namespace; sets
#                            DAEMON_PID and WHOME; waits until the head lists the node ALIVE
#   stop_daemon              `quit`, then waits for it to exit
#   on_head CMD…             runs CMD in the head's mount namespace (a driver must run beside
#                            a raylet: the head's)
#
# Never `ray stop` and nothing outside the namespaces: another engineer's Ray on this machine
# is untouched. Needs: root, unshare/nsenter (util-linux), ip (iproute2), python3, jq.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [[ -z ${RAY:-} ]]; then
  if [[ -x $REPO/.ray-venv/bin/ray ]]; then RAY=$REPO/.ray-venv/bin/ray; else RAY=/tmp/rayvenv/bin/ray; fi
fi
RAY_PY=$(dirname "$RAY")/python
HEAD_ADDR=127.0.0.1:6379
NODE_IP=127.0.0.2
DASH=http://127.0.0.1:8265
export RAY RAY_PY

now_ms() { local t=$EPOCHREALTIME; t=${t/./}; printf '%s\n' "$((10#$t / 1000))"; }
say() { printf '[%s %s] %s\n' "$(basename "$0")" "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
figure() { printf '%s: %s %s\n' "$1" "$2" "$3"; }

private_ray_enter() {
  if [[ -n ${BTW_PRIVATE_RAY:-} ]]; then return 0; fi
  [[ $(id -u) == 0 ]] || die "needs root (private namespaces)"
  [[ -x $RAY ]] || die "no ray at $RAY"
  export BTW_PRIVATE_RAY=1
  exec unshare --net --pid --mount --fork --mount-proc --propagation private \
    bash "$0" "$@"
}

# A mount namespace of its own with empty /tmp/ray and /dev/shm, then CMD. Only as `side … &`:
# it execs, so that $! is CMD's pid (not a subshell's).
side() {
  exec unshare --mount --propagation private bash -c '
    mount -t tmpfs -o mode=1777 btw-bench-ray /tmp/ray
    mount -t tmpfs -o mode=1777 btw-bench-shm /dev/shm
    mkdir -m 1777 /tmp/ray/pytmp
    exec "$@"' side "$@"
}

ray_env=(RAY_TMPDIR=/tmp TMPDIR=/tmp/ray/pytmp)

BENCH_DIR=$(mktemp -d /tmp/btw-bench-XXXXXX)
HEAD_PID=""
start_head() {
  ip link set lo up
  mkdir -p /tmp/ray # the mount point (host /tmp/ray usually exists already)
  side env "${ray_env[@]}" setsid "$RAY" start --head --block --node-ip-address=127.0.0.1 \
    --port=6379 --num-cpus=0 --include-dashboard=true --dashboard-host=127.0.0.1 \
    --dashboard-port=8265 --disable-usage-stats >"$BENCH_DIR/head.log" 2>&1 &
  HEAD_PID=$!
  local deadline=$(($(now_ms) + 120000))
  until curl -fsS "$DASH/api/version" >/dev/null 2>&1; do
    (($(now_ms) < deadline)) || die "head not ready (log: $BENCH_DIR/head.log)"
    kill -0 "$HEAD_PID" 2>/dev/null || die "head exited (log: $BENCH_DIR/head.log)"
    sleep 0.5
  done
  say "head up (pid $HEAD_PID)"
}

on_head() { nsenter -t "$HEAD_PID" -m -- env "${ray_env[@]}" "$@"; }

# The worker node as the head's state API lists it: `ALIVE <CPU>` or nothing.
node_state() {
  curl -fsS "$DASH/api/v0/nodes?limit=100&detail=true" 2>/dev/null |
    jq -r --arg ip "$NODE_IP" '.data.result.result[] | select(.node_ip == $ip and .state == "ALIVE")
      | "\(.state) \(.resources_total.CPU // 0)"' 2>/dev/null | head -1
}

DAEMON_PID=""
WHOME=""
cli() { BITTRADER_WORKER_HOME=$WHOME "$BIN" "$@"; }
start_daemon() { # name cpus nice lean [worker-ray [ray-toml [env]]]
  local name=$1 cpus=$2 nice=$3 lean=$4 worker_ray=${5:-$RAY} ray_toml=${6:-} env=${7:-}
  WHOME=$BENCH_DIR/home-$name
  mkdir -p "$WHOME"
  cat >"$WHOME/config.toml" <<TOML
head = "$HEAD_ADDR"
cpus = $cpus
ray_path = "$worker_ray"
node_ip = "$NODE_IP"

[ray]
nice = $nice
lean = $lean
$ray_toml
TOML
  # env (words VAR=value) reaches `ray start` through the daemon, except what the daemon sets
  # itself from `[ray]` (its lean settings, the report and memory-check periods): the way other
  # Ray settings are tried.
  # shellcheck disable=SC2086
  side env BITTRADER_WORKER_HOME="$WHOME" "${ray_env[@]}" $env setsid "$BIN" daemon \
    >"$WHOME/daemon.out" 2>&1 &
  DAEMON_PID=$!
  local deadline=$(($(now_ms) + 120000)) state=""
  until [[ $state == ALIVE* ]]; do
    (($(now_ms) < deadline)) || die "$name: node not ALIVE at the head (home: $WHOME)"
    kill -0 "$DAEMON_PID" 2>/dev/null || die "$name: daemon exited (home: $WHOME)"
    sleep 1
    state=$(node_state)
  done
  say "$name: node $NODE_IP $state (daemon $DAEMON_PID, nice $nice, lean $lean)"
}

stop_daemon() {
  [[ -n $DAEMON_PID ]] || return 0
  cli quit >/dev/null 2>&1 || true
  local deadline=$(($(now_ms) + 30000))
  while kill -0 "$DAEMON_PID" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.2; done
  kill -9 "$DAEMON_PID" 2>/dev/null || true
  # The head notices the node gone within its health-check period; wait so the next
  # daemon's node is the only one.
  deadline=$(($(now_ms) + 60000))
  while [[ -n $(node_state) ]] && (($(now_ms) < deadline)); do sleep 1; done
  DAEMON_PID=""
}

# The release binary, built unless BENCH_BIN names one.
bench_binary() {
  if [[ -n ${BENCH_BIN:-} ]]; then BIN=$BENCH_BIN; return; fi
  say "cargo build --release"
  (cd "$REPO" && cargo build --release --quiet) || die "build failed"
  BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/bittrader-worker
}
