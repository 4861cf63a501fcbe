#!/usr/bin/env bash
# Starts or stops a throwaway redis-server for tests and benchmarks: bound to
# 127.0.0.1, on a free port, with its files in DIR and no persistence.
#
#   scripts/redis-server.sh start DIR [PORT] [-- REDIS-ARGS...]
#       prints the port; writes DIR/port and DIR/redis.pid, and listens on
#       DIR/redis.sock too (short DIRs). REDIS-ARGS go to redis-server as they are.
#   scripts/redis-server.sh stop DIR
#       kills the server whose PID is in DIR/redis.pid
#
# Installs nothing: scripts/deps.sh installs Debian's redis-server.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [PORT] [-- REDIS-ARGS...] | stop DIR" >&2
  exit 2
}

server_bin=$(command -v redis-server || true)
[[ -n $server_bin || -x /usr/bin/redis-server ]] || { echo "redis-server not found: run scripts/deps.sh" >&2; exit 1; }
server_bin=${server_bin:-/usr/bin/redis-server}

# Running, not a zombie: a killed server whose parent exited waits for init
# to reap it, with its sockets already closed.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Ready when it answers PING; bash's /dev/tcp needs no client package.
wait_ready() {
  local port=$1 pid=$2
  for _ in $(seq 1 100); do
    alive "$pid" || return 1
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      printf 'PING\r\n' >&3
      local answer=""
      read -r -t 1 answer <&3 || true
      exec 3>&- 3<&-
      [[ $answer == +PONG* ]] && return 0
    fi
    sleep 0.05
  done
  return 1
}

start() {
  local dir=$1 wanted=""
  shift
  if [[ $# -gt 0 && $1 != -- ]]; then
    wanted=$1
    shift
  fi
  [[ $# -eq 0 || $1 == -- ]] || usage
  [[ $# -eq 0 ]] || shift
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ -f $dir/redis.pid ]] && alive "$(cat "$dir/redis.pid")" && stop "$dir"
  # A socket path must fit in sun_path (108 bytes); deep build dirs go without.
  local unix_args=()
  ((${#dir} < 96)) && unix_args=(--unixsocket "$dir/redis.sock" --unixsocketperm 700)
  # A port picked by binding port 0 can be taken before redis binds it: retry.
  for _ in 1 2 3 4 5; do
    local port=${wanted:-$(free_port)}
    rm -f "$dir/redis.pid"
    # Its own session, so it outlives this script and whatever ran it; it
    # writes its PID itself.
    setsid "$server_bin" --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
      --daemonize no --protected-mode yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      "${unix_args[@]}" "$@" \
      >/dev/null 2>&1 </dev/null &
    local pid=$!
    if wait_ready "$port" "$pid" && [[ $(cat "$dir/redis.pid" 2>/dev/null) == "$pid" ]]; then
      echo "$port" >"$dir/port"
      echo "$port"
      return 0
    fi
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [[ -z $wanted ]] || sleep 0.2  # a fixed port may still be held by a dying server
  done
  echo "redis-server did not start; see $dir/redis.log" >&2
  return 1
}

stop() {
  local dir=$1
  [[ -f $dir/redis.pid ]] || return 0
  local pid
  pid=$(cat "$dir/redis.pid")
  if alive "$pid"; then
    kill -CONT "$pid" 2>/dev/null || true  # a stopped process cannot act on TERM
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/redis.pid" "$dir/port"
}

case ${1:-} in
  start) [[ $# -ge 2 ]] || usage; shift; start "$@" ;;
  stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
  *) usage ;;
esac
