#!/usr/bin/env bash
# Two-host real-Ray lab for bittrader-worker.
#
# Two "hosts" on one Linux box, each = network namespace + its own pid, mount
# and uts namespaces, with fresh tmpfs on /tmp/ray and /dev/shm:
#
#   btw-head    100.64.0.1/24  Ray head (GCS :6379, dashboard :8265)
#   btw-laptop  100.64.0.2/24  where the daemon / `ray start` worker runs
#
# joined by one veth pair (btw-h <-> btw-l). 100.64.0.0/24 mimics Tailscale's
# CGNAT range. There is no default route in either namespace and nothing is
# routed to the outside world.
#
# The head's Python temp files go to /tmp/ray/pytmp (its tmpfs). Commands run
# with laptop-exec see the real /tmp (only /tmp/ray and /dev/shm are private).
#
# Each host is kept alive by a "holder": a tiny bash init (PID 1 of the host's
# pid namespace, reaps orphans). All commands for a host are run with
# `nsenter --target HOLDER --net --pid --mount --uts`, so every command run in
# a host (daemon, CLI calls, ray start, ...) shares ONE pid namespace and ONE
# /tmp/ray tmpfs until `down` or `laptop-reset`.
#
# Usage: lab.sh SUBCOMMAND [ARGS]
#   check                 exit 0 if the lab can run here, else explain and exit 77
#   up [--fast-health]    create both hosts, start the Ray head, wait until it
#                         answers from the laptop; idempotent (a no-op if already
#                         up in the same mode; serialized with flock, so parallel
#                         callers are fine). --fast-health makes
#                         the head declare a silent node DEAD in ~3-5 s
#                         (default Ray settings: ~30-60 s)
#   down                  kill everything, delete namespaces (logs stay in $LAB_DIR)
#   status                print what is running (exit 1 if the lab is not up)
#   laptop-exec CMD...    run CMD in the laptop host, foreground (see below)
#   head-exec CMD...      same for the head host
#   head-restart          kill everything in the head host and start a new head (a new
#                         cluster, as when the head machine restarts)
#   head-stop             kill everything in the head host and leave it without Ray (its
#                         address stays up: another service may listen there); head-restart
#                         brings Ray back
#   laptop-reset          kill everything in the laptop host and give it a fresh
#                         pid namespace and empty /tmp/ray (head untouched)
#   cut [--link]          cut the laptop<->head link. Default: silently drop every
#                         IP packet on input in both namespaces (nft), so
#                         connections time out like a lost Wi-Fi / Tailscale path.
#                         --link: set the veth down on both ends instead (gives
#                         immediate ENETUNREACH on the laptop: NOT like Tailscale)
#   heal                  undo cut (either kind); idempotent
#   nodes                 head's view of the nodes, one JSON object a line:
#                         {"node_id","ip","state","cpus","is_head","state_message"}
#                         (DEAD nodes stay listed; a rejoin is a NEW node_id)
#   alive-cpus IP         total CPUs of ALIVE nodes with that IP (0 if none)
#   wait-alive IP [SECS]  wait until an ALIVE node with that IP exists (exit 1 on timeout)
#   wait-dead-or-gone IP [SECS]  wait until no ALIVE node has that IP
#
# laptop-exec / head-exec semantics:
#   * environment, cwd, stdin/stdout/stderr are passed through; exit status is
#     CMD's (if CMD dies from a signal, laptop-exec re-raises that signal).
#   * CMD runs in its own session (setsid) inside the host, and the nsenter
#     helper in another one outside. SIGTERM, SIGINT,
#     SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 sent to the laptop-exec process are
#     forwarded exactly once to CMD; signalling the caller's process group
#     does not double-deliver. SIGKILL cannot be forwarded: CMD then keeps
#     running in the host; use `laptop-reset` or `down` to clean up.
#   * Inside the host, CMD sees its own pid namespace (no host processes),
#     the host's /tmp/ray tmpfs, and the real host filesystem everywhere else
#     (so a Unix socket in e.g. /tmp/xyz is shared with the outside).
#   * Never run `ray stop` inside the laptop host unless you mean "kill every
#     Ray process of that host".
#
# Environment:
#   RAY       ray binary (default /tmp/rayvenv/bin/ray); must be the same on
#             both hosts since both see the real filesystem.
#   LAB_DIR   state and logs (default /tmp/btw-lab): head.ray.log, *.holder.log
#   LAB_UP_TIMEOUT  seconds to wait for the head in `up` (default 120)
#   LAB_HEAD_EXTRA_ARGS  extra words appended to the head's `ray start`
#
# Requires root, iproute2 (ip netns), util-linux (unshare, nsenter, setsid),
# nftables (for cut), curl, procps (pgrep), python3 (the one next to $RAY is used
# for `nodes`).

set -euo pipefail

RAY=${RAY:-/tmp/rayvenv/bin/ray}
LAB_DIR=${LAB_DIR:-/tmp/btw-lab}
LAB_UP_TIMEOUT=${LAB_UP_TIMEOUT:-120}

readonly HEAD_NS=btw-head LAPTOP_NS=btw-laptop
readonly HEAD_IP=100.64.0.1 LAPTOP_IP=100.64.0.2 PREFIX=24
readonly HEAD_IF=btw-h LAPTOP_IF=btw-l
readonly GCS_PORT=6379 DASH_PORT=8265
readonly CUT_TABLE=btw_cut

# Environment for the head's Ray processes with --fast-health. These are read by
# the GCS (RayConfig, src/ray/common/ray_config_def.h). Ray defaults:
# initial_delay 5000, period 3000, timeout 10000, failure_threshold 5.
readonly FAST_HEALTH_ENV=(
  RAY_health_check_initial_delay_ms=1000
  RAY_health_check_period_ms=1000
  RAY_health_check_timeout_ms=1000
  RAY_health_check_failure_threshold=3
)

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }

python_bin() {
  local p
  p="$(dirname "$RAY")/python"
  if [[ -x $p ]]; then printf '%s\n' "$p"; else command -v python3; fi
}

ns_exists() { [[ -e /run/netns/$1 ]]; }
lab_ns_exist() { ns_exists "$HEAD_NS" && ns_exists "$LAPTOP_NS"; }

# Host pid of the holder init of host $1 (head|laptop), if it is alive and
# really sits in the expected network namespace. Empty output otherwise.
holder_pid() {
  local name=$1 ns pidf pid
  ns=$(ns_of "$name")
  pidf="$LAB_DIR/$name.holder.pid"
  [[ -r $pidf ]] || return 0
  pid=$(<"$pidf")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  ns_exists "$ns" || return 0
  [[ -e /proc/$pid/ns/net ]] || return 0
  if [[ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" == "$(stat -L -c %i "/run/netns/$ns")" ]]; then
    printf '%s\n' "$pid"
  fi
}

ns_of() {
  case $1 in
    head) printf '%s\n' "$HEAD_NS" ;;
    laptop) printf '%s\n' "$LAPTOP_NS" ;;
    *) die "unknown host $1" ;;
  esac
}

# The holder: PID 1 of the host's pid namespace. Mounts fresh tmpfs on /tmp/ray
# and /dev/shm (private mount namespace), sets the hostname, writes a ready
# marker, then sleeps forever while reaping orphans (bash reaps any child on
# SIGCHLD). When it dies, the kernel SIGKILLs everything in the pid namespace.
# shellcheck disable=SC2016  # expanded by the inner bash
readonly HOLDER_INIT='
set -eu
mount -t tmpfs -o mode=1777 "btw-ray-$1" /tmp/ray
mount -t tmpfs -o mode=1777 "btw-shm-$1" /dev/shm
mkdir -m 1777 /tmp/ray/pytmp
hostname "btw-$1"
trap "exit 0" TERM INT
: > "$2"
while :; do sleep 86400 & wait $! || true; done
'

start_holder() {
  local name=$1 ns up pid ready i
  ns=$(ns_of "$name")
  ready="$LAB_DIR/$name.holder.ready"
  rm -f "$ready" "$LAB_DIR/$name.holder.pid"
  # /tmp/ray must exist as a mount point on the real filesystem.
  if [[ ! -d /tmp/ray ]]; then
    mkdir -p /tmp/ray
    : > "$LAB_DIR/created-tmp-ray"
  fi
  ip netns exec "$ns" unshare --pid --mount --uts --fork --mount-proc --propagation private \
    bash -c "$HOLDER_INIT" holder "$name" "$ready" \
    </dev/null >"$LAB_DIR/$name.holder.log" 2>&1 9>&- &
  up=$!
  for ((i = 0; i < 200; i++)); do
    if [[ -e $ready ]]; then
      pid=$(pgrep -P "$up" | head -n1 || true)
      if [[ -n $pid ]]; then
        printf '%s\n' "$pid" > "$LAB_DIR/$name.holder.pid"
        return 0
      fi
    fi
    kill -0 "$up" 2>/dev/null || break
    sleep 0.05
  done
  cat "$LAB_DIR/$name.holder.log" >&2 || true
  die "holder for $name did not start"
}

nsenter_args() {
  local pid=$1
  printf '%s\n' --target "$pid" --net --pid --mount --uts --wd="$PWD"
}

# Run "$@" in host $1 in the foreground, forwarding signals (see header).
host_exec() {
  local name=$1 pid child rc sig
  shift
  [[ $# -gt 0 ]] || die "usage: $name-exec CMD..."
  pid=$(holder_pid "$name")
  [[ -n $pid ]] || die "$name host is not up (run: lab.sh up)"
  local -a nsargs
  mapfile -t nsargs < <(nsenter_args "$pid")
  # nsenter (outside) and CMD (inside) each get their own session, so a
  # signal to the caller's process group reaches only this wrapper, which
  # forwards it once. Explicit <&0: a background job would otherwise get
  # /dev/null as stdin.
  setsid nsenter "${nsargs[@]}" -- setsid "$@" <&0 &
  child=$!
  for sig in TERM INT HUP QUIT USR1 USR2; do
    # shellcheck disable=SC2064  # expand now
    trap "forward_signal $sig $child" "$sig"
  done
  while :; do
    rc=0
    wait "$child" || rc=$?
    # wait returns early (rc>128) when a trapped signal arrives; keep waiting
    # while nsenter is still there.
    kill -0 "$child" 2>/dev/null || break
  done
  trap - TERM INT HUP QUIT USR1 USR2
  if ((rc > 128 && rc < 128 + 65)); then
    # CMD died from a signal; nsenter re-raised it; do the same.
    kill -s "$((rc - 128))" "$$" 2>/dev/null || true
  fi
  exit "$rc"
}

forward_signal() {
  local sig=$1 outer=$2 inner="" i
  for ((i = 0; i < 40; i++)); do
    inner=$(pgrep -P "$outer" | head -n1 || true)
    [[ -n $inner ]] && break
    kill -0 "$outer" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -s "$sig" "${inner:-$outer}" 2>/dev/null || true
}

tcp_open_from_laptop() { # ip port
  ip netns exec "$LAPTOP_NS" timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

dash_get() { # path ; queried from inside the head's network namespace
  ip netns exec "$HEAD_NS" curl -sf --max-time 5 "http://$HEAD_IP:$DASH_PORT$1"
}

head_ray_pid() {
  local f="$LAB_DIR/head.ray.pid" pid
  [[ -r $f ]] || return 0
  pid=$(<"$f")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then printf '%s\n' "$pid"; fi
}

is_up() {
  [[ -n "$(holder_pid head)" && -n "$(holder_pid laptop)" && -n "$(head_ray_pid)" ]] || return 1
  dash_get /api/version >/dev/null 2>&1
}

cmd_up() {
  local mode=normal
  while [[ $# -gt 0 ]]; do
    case $1 in
      --fast-health) mode=fast-health ;;
      *) die "up: unknown argument $1" ;;
    esac
    shift
  done
  check_or_exit
  mkdir -p "$LAB_DIR"
  if is_up && [[ "$(cat "$LAB_DIR/head.mode" 2>/dev/null)" == "$mode" ]]; then
    log "already up ($mode)"
    return 0
  fi
  if ns_exists "$HEAD_NS" || ns_exists "$LAPTOP_NS"; then
    log "tearing down a previous / partial lab"
    cmd_down
    mkdir -p "$LAB_DIR"
  fi
  local t0 t_ns t_gcs t_dash t_alive
  t0=$(now_ms)

  ip netns add "$HEAD_NS"
  ip netns add "$LAPTOP_NS"
  ip -n "$HEAD_NS" link add "$HEAD_IF" type veth peer name "$LAPTOP_IF" netns "$LAPTOP_NS"
  ip -n "$HEAD_NS" addr add "$HEAD_IP/$PREFIX" dev "$HEAD_IF"
  ip -n "$LAPTOP_NS" addr add "$LAPTOP_IP/$PREFIX" dev "$LAPTOP_IF"
  local ns
  for ns in "$HEAD_NS" "$LAPTOP_NS"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$HEAD_NS" link set "$HEAD_IF" up
  ip -n "$LAPTOP_NS" link set "$LAPTOP_IF" up
  start_holder head
  start_holder laptop
  t_ns=$(now_ms)
  log "namespaces + holders ready in $((t_ns - t0)) ms"

  start_head "$mode" "$t0" "$t_ns"
  log "up total $(($(now_ms) - t0)) ms; head log $LAB_DIR/head.ray.log"
}

start_head() { # mode t0_ms t_ns_ms ; ray start --head in the head host, wait until it is ready
  local mode=$1 t0=$2 t_ns=$3 t_gcs t_dash t_alive
  # Start the head: ray start --block in its own session inside the head host.
  local hpid
  hpid=$(holder_pid head)
  local -a env_extra=() extra=()
  if [[ $mode == fast-health ]]; then env_extra=("${FAST_HEALTH_ENV[@]}"); fi
  if [[ -n ${LAB_HEAD_EXTRA_ARGS:-} ]]; then read -r -a extra <<<"$LAB_HEAD_EXTRA_ARGS"; fi
  printf '%s\n' "$mode" > "$LAB_DIR/head.mode"
  local -a nsargs
  mapfile -t nsargs < <(nsenter_args "$hpid")
  # TMPDIR: keep Python temp files (multiprocessing's /tmp/pymp-*) inside the
  # head's tmpfs. Ray derives its own temp dir from RAY_TMPDIR, else TMPDIR
  # (Linux), so RAY_TMPDIR=/tmp keeps the session dir at /tmp/ray.
  env "${env_extra[@]}" RAY_TMPDIR=/tmp TMPDIR=/tmp/ray/pytmp setsid nsenter "${nsargs[@]}" -- setsid "$RAY" start --head --block \
    --port="$GCS_PORT" --node-ip-address="$HEAD_IP" --num-cpus=2 \
    --include-dashboard=true --dashboard-host=0.0.0.0 --dashboard-port="$DASH_PORT" \
    --disable-usage-stats "${extra[@]}" \
    </dev/null >"$LAB_DIR/head.ray.log" 2>&1 9>&- &
  local outer=$! inner="" i
  for ((i = 0; i < 100; i++)); do
    inner=$(pgrep -P "$outer" | head -n1 || true)
    [[ -n $inner ]] && break
    sleep 0.02
  done
  [[ -n $inner ]] || die "could not find the head's ray process"
  printf '%s\n' "$inner" > "$LAB_DIR/head.ray.pid"

  local deadline=$((t0 + LAB_UP_TIMEOUT * 1000))
  t_gcs="" t_dash="" t_alive=""
  while :; do
    if [[ -z $(head_ray_pid) ]]; then
      tail -n 40 "$LAB_DIR/head.ray.log" >&2 || true
      die "head 'ray start' exited (log: $LAB_DIR/head.ray.log)"
    fi
    if [[ -z $t_gcs ]] && tcp_open_from_laptop "$HEAD_IP" "$GCS_PORT"; then t_gcs=$(now_ms); fi
    if [[ -n $t_gcs && -z $t_dash ]] &&
      ip netns exec "$LAPTOP_NS" curl -sf --max-time 2 "http://$HEAD_IP:$DASH_PORT/api/version" >/dev/null 2>&1; then
      t_dash=$(now_ms)
    fi
    if [[ -n $t_dash && "$(cmd_alive_cpus "$HEAD_IP" 2>/dev/null || echo 0)" != 0 ]]; then
      t_alive=$(now_ms)
      break
    fi
    if (($(now_ms) > deadline)); then
      tail -n 40 "$LAB_DIR/head.ray.log" >&2 || true
      die "head not ready after ${LAB_UP_TIMEOUT}s (gcs=${t_gcs:-no} dashboard=${t_dash:-no})"
    fi
    sleep 0.2
  done
  log "head ($mode): GCS :$GCS_PORT reachable from laptop after $((t_gcs - t_ns)) ms," \
    "dashboard after $((t_dash - t_ns)) ms, head node ALIVE after $((t_alive - t_ns)) ms"
}

cmd_head_restart() { # the head machine restarts: every process of its host killed, a new cluster
  local mode t0
  mode=$(cat "$LAB_DIR/head.mode" 2>/dev/null || echo normal)
  t0=$(now_ms)
  cmd_head_stop
  start_head "$mode" "$t0" "$(now_ms)"
}

cmd_head_stop() { # every process of the head host killed; the host (and its address) stays
  [[ -n "$(holder_pid head)" ]] || die "lab is not up"
  kill_host head
  rm -f "$LAB_DIR/head.ray.pid"
  start_holder head
}

kill_host() { # name ; kill every process of the host (its netns), wait until gone
  local name=$1 ns pids i
  ns=$(ns_of "$name")
  ns_exists "$ns" || return 0
  for ((i = 0; i < 100; i++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [[ -z ${pids// /} ]] && return 0
    # shellcheck disable=SC2086  # word splitting wanted
    kill -KILL $pids 2>/dev/null || true
    sleep 0.05
  done
  log "WARNING: processes still in $ns: $(ip netns pids "$ns" | tr '\n' ' ')"
}

cmd_down() {
  local t0 name ns
  t0=$(now_ms)
  for name in laptop head; do
    kill_host "$name"
  done
  for ns in "$LAPTOP_NS" "$HEAD_NS"; do
    if ns_exists "$ns"; then ip netns del "$ns"; fi
  done
  # Wait for the outer helpers (unshare, nsenter) to notice and exit.
  local i
  for ((i = 0; i < 50; i++)); do
    pgrep -f "^unshare --pid --mount --uts --fork --mount-proc --propagation private bash -c" >/dev/null || break
    sleep 0.05
  done
  if [[ -d $LAB_DIR ]]; then
    if [[ -e $LAB_DIR/created-tmp-ray ]]; then
      rmdir /tmp/ray 2>/dev/null || true
      rm -f "$LAB_DIR/created-tmp-ray"
    fi
    rm -f "$LAB_DIR"/*.pid "$LAB_DIR"/*.ready "$LAB_DIR/head.mode"
  fi
  log "down in $(($(now_ms) - t0)) ms"
}

cmd_laptop_reset() {
  [[ -n "$(holder_pid laptop)" ]] || die "lab is not up"
  local t0
  t0=$(now_ms)
  kill_host laptop
  start_holder laptop
  log "laptop host reset in $(($(now_ms) - t0)) ms"
}

cmd_cut() {
  local link=0
  if [[ ${1:-} == --link ]]; then link=1; elif [[ $# -gt 0 ]]; then die "cut: unknown argument $1"; fi
  lab_ns_exist || die "lab is not up"
  if ((link)); then
    ip -n "$LAPTOP_NS" link set "$LAPTOP_IF" down
    ip -n "$HEAD_NS" link set "$HEAD_IF" down
    log "cut (link down)"
    return 0
  fi
  local ns ifname
  for ns in "$HEAD_NS" "$LAPTOP_NS"; do
    if [[ $ns == "$HEAD_NS" ]]; then ifname=$HEAD_IF; else ifname=$LAPTOP_IF; fi
    ip netns exec "$ns" nft -f - <<EOF
table inet $CUT_TABLE
delete table inet $CUT_TABLE
table inet $CUT_TABLE {
  chain input {
    type filter hook input priority -300; policy accept;
    iifname "$ifname" drop
  }
}
EOF
  done
  log "cut (silent drop)"
}

cmd_heal() {
  lab_ns_exist || die "lab is not up"
  local ns
  for ns in "$HEAD_NS" "$LAPTOP_NS"; do
    ip netns exec "$ns" nft delete table inet "$CUT_TABLE" 2>/dev/null || true
  done
  ip -n "$HEAD_NS" link set "$HEAD_IF" up
  ip -n "$LAPTOP_NS" link set "$LAPTOP_IF" up
  log "healed"
}

# JSON lines from the dashboard's state API.
cmd_nodes() {
  local json
  json=$(dash_get "/api/v0/nodes?limit=10000&timeout=10") || die "dashboard did not answer"
  "$(python_bin)" -c '
import json, sys
d = json.load(sys.stdin)
rows = d["data"]["result"]["result"]
for n in rows:
    print(json.dumps({
        "node_id": n.get("node_id"),
        "ip": n.get("node_ip"),
        "state": n.get("state"),
        "cpus": (n.get("resources_total") or {}).get("CPU", 0),
        "is_head": n.get("is_head_node"),
        "state_message": n.get("state_message"),
    }))
' <<<"$json"
}

cmd_alive_cpus() {
  local ip=${1:?usage: alive-cpus IP}
  cmd_nodes | "$(python_bin)" -c '
import json, sys
ip = sys.argv[1]
total = 0.0
for line in sys.stdin:
    n = json.loads(line)
    if n["ip"] == ip and n["state"] == "ALIVE":
        total += float(n["cpus"] or 0)
print(int(total) if total == int(total) else total)
' "$ip"
}

cmd_wait_alive() {
  local ip=${1:?usage: wait-alive IP [SECS]} secs=${2:-60} t0
  t0=$(now_ms)
  while (($(now_ms) - t0 < secs * 1000)); do
    if [[ "$(cmd_alive_cpus "$ip" 2>/dev/null || echo 0)" != 0 ]]; then
      log "$ip ALIVE after $(($(now_ms) - t0)) ms"
      return 0
    fi
    sleep 0.2
  done
  log "$ip not ALIVE after ${secs}s"
  return 1
}

cmd_wait_dead_or_gone() {
  local ip=${1:?usage: wait-dead-or-gone IP [SECS]} secs=${2:-120} t0 c
  t0=$(now_ms)
  while (($(now_ms) - t0 < secs * 1000)); do
    c=$(cmd_alive_cpus "$ip" 2>/dev/null) || c=unknown
    if [[ $c == 0 ]]; then
      log "$ip not ALIVE after $(($(now_ms) - t0)) ms"
      return 0
    fi
    sleep 0.2
  done
  log "$ip still ALIVE after ${secs}s"
  return 1
}

cmd_status() {
  local name pid rc=0
  for name in head laptop; do
    pid=$(holder_pid "$name")
    if [[ -n $pid ]]; then
      log "$name host: holder pid $pid, processes: $(ip netns pids "$(ns_of "$name")" | wc -l)"
    else
      log "$name host: down"
      rc=1
    fi
  done
  pid=$(head_ray_pid)
  log "head ray start pid: ${pid:-none} mode: $(cat "$LAB_DIR/head.mode" 2>/dev/null || echo -)"
  if ns_exists "$HEAD_NS" && ip netns exec "$HEAD_NS" nft list table inet "$CUT_TABLE" >/dev/null 2>&1; then
    log "link: CUT (drop)"
  elif ns_exists "$LAPTOP_NS" && ! ip -n "$LAPTOP_NS" link show "$LAPTOP_IF" | grep -q 'state UP'; then
    log "link: CUT (link down)"
  fi
  [[ -n $pid ]] || rc=1
  return "$rc"
}

# Returns a reason on stdout if the lab cannot run here.
check_reason() {
  if [[ $(id -u) != 0 ]]; then echo "must run as root (netns, mounts)"; return; fi
  local c
  for c in ip unshare nsenter setsid flock nft curl pgrep timeout stat; do
    command -v "$c" >/dev/null 2>&1 || { echo "missing command: $c"; return; }
  done
  [[ -x $RAY ]] || { echo "ray binary not found/executable: RAY=$RAY"; return; }
  [[ -x "$(python_bin)" ]] || { echo "no python for JSON parsing"; return; }
  ip netns list >/dev/null 2>&1 || { echo "'ip netns' does not work"; return; }
  if ! unshare --pid --mount --uts --fork --mount-proc true >/dev/null 2>&1; then
    echo "unshare --pid --mount --uts --fork --mount-proc fails (no CAP_SYS_ADMIN? seccomp?)"
    return
  fi
}

check_or_exit() {
  local reason
  reason=$(check_reason)
  if [[ -n $reason ]]; then
    printf '\n*** bittrader-worker lab cannot run here: %s ***\n\n' "$reason" >&2
    exit 77
  fi
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; }

# Serialize commands that change the lab (parallel test threads may call `up`).
lock() {
  mkdir -p "$LAB_DIR"
  exec 9>"$LAB_DIR/lock"
  flock 9
}

main() {
  local sub=${1:-}
  [[ $# -gt 0 ]] && shift
  case $sub in
    up | down | laptop-reset | head-restart | cut | heal) lock ;;
  esac
  case $sub in
    check) check_or_exit; echo "lab OK (ray: $RAY)" ;;
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    laptop-exec) host_exec laptop "$@" ;;
    head-exec) host_exec head "$@" ;;
    laptop-reset) cmd_laptop_reset ;;
    head-restart) cmd_head_restart ;;
    head-stop) cmd_head_stop ;;
    cut) cmd_cut "$@" ;;
    heal) cmd_heal ;;
    nodes) cmd_nodes ;;
    alive-cpus) cmd_alive_cpus "$@" ;;
    wait-alive) cmd_wait_alive "$@" ;;
    wait-dead-or-gone) cmd_wait_dead_or_gone "$@" ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
