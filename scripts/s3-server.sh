#!/usr/bin/env bash
# Starts or stops the S3-compatible test server: s3rver (installed from npm
# into a cache outside the repository) on 127.0.0.1, a free port and a fresh
# temporary directory, with the bucket created at start, behind a front that
# checks every request's SigV4 signature (tests/integration/s3/sigv4_front.py),
# over http and, with a certificate from a CA made for the run, https.
#
#   scripts/s3-server.sh start STATE_DIR   # writes STATE_DIR/{endpoint,tls_endpoint,ca.pem,direct_endpoint,bucket}
#   scripts/s3-server.sh start STATE_DIR PORT  # s3rver on PORT (a restart keeps its address)
#   scripts/s3-server.sh stop STATE_DIR    # stops both by PID, removes the data
#   S3RVER_WORKERS=N scripts/s3-server.sh start ...  # N s3rver processes on one port (benchmarks)
#   S3RVER_LATENCY_MS=N scripts/s3-server.sh start ... # every request waits N ms first (benchmarks)
#
# endpoint is the verifying front; direct_endpoint is s3rver itself (for
# benchmarks, where the Python front would be the bottleneck). Credentials
# are s3rver's: access key S3RVER, secret S3RVER.
set -euo pipefail

S3RVER_VERSION=3.7.1
BUCKET=strata-test
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cache=${STRATA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strata}/s3rver-$S3RVER_VERSION
python=/usr/bin/python3  # Debian's, which has python3-botocore
[[ -x $python ]] || python=python3

usage() { echo "usage: $0 start|stop STATE_DIR [PORT]" >&2; exit 2; }
[[ $# -eq 2 || ($# -eq 3 && $1 == start) ]] || usage
action=$1
state=$2
wanted_port=${3:-}

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Running, not a zombie: a server whose starting shell exited is reaped by
# init, and init in a container may never do it.
alive() {
  local run_state
  run_state=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $run_state && $run_state != Z ]]
}

# Waits until something answers HTTP (SCHEME http or https, any certificate)
# on the port, or the process dies.
wait_http() {
  local port=$1 pid=$2 name=$3 scheme=${4:-http}
  for _ in $(seq 1 100); do
    if ! alive "$pid"; then
      echo "s3-server: $name exited during start-up; log:" >&2
      cat "$state/$name.log" >&2 || true
      return 1
    fi
    if "$python" -c "import http.client,ssl
c = http.client.HTTPSConnection('127.0.0.1',$port,timeout=1,context=ssl._create_unverified_context()) if '$scheme' == 'https' \
    else http.client.HTTPConnection('127.0.0.1',$port,timeout=1)
c.request('GET','/__front/stats'); c.getresponse()" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "s3-server: $name did not answer on port $port within 10 s" >&2
  return 1
}

stop_pid() {
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if alive "$pid"; then
    kill -CONT "$pid" 2>/dev/null || true  # a test may have left it stopped
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    # setsid made it a group leader: take any workers it left with it.
    kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

make_certificates() {
  local log=$state/openssl.log
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=strata test CA" \
      -keyout "$state/ca.key" -out "$state/ca.pem"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$state/server.key" -out "$state/server.csr"
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$state/server.ext"
    openssl x509 -req -in "$state/server.csr" -CA "$state/ca.pem" -CAkey "$state/ca.key" \
      -CAcreateserial -days 2 -extfile "$state/server.ext" -out "$state/server.pem"
  } > "$log" 2>&1 || { echo "s3-server: cannot make the test certificates; log:" >&2; cat "$log" >&2; return 1; }
}

stop() {
  stop_pid "$state/front.pid"
  stop_pid "$state/s3rver.pid"
  if [[ -f $state/data_dir ]]; then
    rm -rf "$(cat "$state/data_dir")"
    rm -f "$state/data_dir"
  fi
}

start() {
  mkdir -p "$state"
  stop  # a previous run that was not stopped
  if [[ ! -f $cache/node_modules/s3rver/bin/s3rver.js ]]; then
    echo "s3-server: installing s3rver $S3RVER_VERSION into $cache" >&2
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >&2
  fi
  local data s3_port front_port tls_port
  data=$(mktemp -d "${TMPDIR:-/tmp}/strata-s3rver.XXXXXX")
  echo "$data" > "$state/data_dir"
  s3_port=${wanted_port:-$(free_port)}
  # s3rver's paginated listings need the legacy OpenSSL provider on Node 17+.
  # S3RVER_WORKERS > 1 serves from several processes and S3RVER_LATENCY_MS
  # delays every request (benchmarks of parallel requests); the tests use
  # one process without delay, as s3rver is meant to run.
  local workers=${S3RVER_WORKERS:-1} latency=${S3RVER_LATENCY_MS:-0}
  if ((workers > 1 || latency > 0)); then
    NODE_OPTIONS=--openssl-legacy-provider setsid node "$here/s3rver-cluster.js" \
      "$cache/node_modules/s3rver" "$data" "$s3_port" "$BUCKET" "$workers" "$latency" \
      > "$state/s3rver.log" 2>&1 < /dev/null &
  else
    NODE_OPTIONS=--openssl-legacy-provider setsid node "$cache/node_modules/s3rver/bin/s3rver.js" \
      -d "$data" -a 127.0.0.1 -p "$s3_port" --silent --no-vhost-buckets --configure-bucket "$BUCKET" \
      > "$state/s3rver.log" 2>&1 < /dev/null &
  fi
  echo $! > "$state/s3rver.pid"
  wait_http "$s3_port" "$(cat "$state/s3rver.pid")" s3rver || { stop; exit 1; }

  # A CA of the run's own and a certificate for 127.0.0.1 that it signed:
  # what an in-house S3-compatible service over https looks like.
  make_certificates || { stop; exit 1; }
  front_port=$(free_port)
  tls_port=$(free_port)
  setsid "$python" "$root/tests/integration/s3/sigv4_front.py" --port "$front_port" \
    --upstream "127.0.0.1:$s3_port" --credentials S3RVER:S3RVER \
    --tls-port "$tls_port" --tls-cert "$state/server.pem" --tls-key "$state/server.key" \
    > "$state/front.log" 2>&1 < /dev/null &
  echo $! > "$state/front.pid"
  wait_http "$front_port" "$(cat "$state/front.pid")" front || { stop; exit 1; }
  wait_http "$tls_port" "$(cat "$state/front.pid")" front https || { stop; exit 1; }

  echo "http://127.0.0.1:$front_port" > "$state/endpoint"
  echo "https://127.0.0.1:$tls_port" > "$state/tls_endpoint"
  echo "http://127.0.0.1:$s3_port" > "$state/direct_endpoint"
  echo "$BUCKET" > "$state/bucket"
  echo "s3-server: s3rver on 127.0.0.1:$s3_port (data $data), verifying front on 127.0.0.1:$front_port (https: $tls_port)"
}

case $action in
  start) start ;;
  stop) stop; echo "s3-server: stopped" ;;
  *) usage ;;
esac
