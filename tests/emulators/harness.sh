#!/usr/bin/env bash
# AWS-API emulators on loopback for the tests (tests/aws.rs) and .ci/run.
#
#   harness.sh install                 create the venvs (idempotent; the only step that needs PyPI)
#   harness.sh start OWNER_PID         install if needed, start moto and LocalStack on free
#                                      loopback ports, wait until both answer, print
#                                      `moto=PORT localstack=PORT`; both are stopped by PID when
#                                      OWNER_PID exits (the test process), or by `stop`
#   harness.sh stop                    stop what `start` started, by PID
#
# Why two emulators: LocalStack's free build has no Cost Explorer, and moto cannot answer the
# Rust SDK's CloudWatch (Smithy RPC v2 CBOR). See tests/emulators/README.md.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base="${COSTSCOPE_EMULATORS_DIR:-$root/.emulators}"
moto_venv="$base/moto"
ls_venv="$base/localstack"
MOTO_VERSION="5.2.5"
DUCKDB_VERSION="1.4.2"

log() { echo "harness: $*" >&2; }

# LocalStack needs Python >= 3.12; pyenv on these machines has 3.12 and 3.13.
find_python312() {
  local candidate
  for candidate in python3.13 python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.13*/bin/python3 "$(pyenv root)"/versions/3.12*/bin/python3; do
      if [ -x "$candidate" ]; then
        echo "$candidate"
        return 0
      fi
    done
  fi
  return 1
}

install() {
  mkdir -p "$base"
  # A lock, so two test processes that start at once do not build the same venv twice.
  exec 9>"$base/.install.lock"
  flock 9
  if [ ! -x "$moto_venv/bin/moto_server" ]; then
    log "installing moto $MOTO_VERSION into $moto_venv"
    rm -rf "$moto_venv"
    python3 -m venv "$moto_venv"
    "$moto_venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  # DuckDB runs costscope's Athena SQL over the sample (tests/athena.rs), beside moto.
  if ! "$moto_venv/bin/python" -c "import duckdb; assert duckdb.__version__ == '$DUCKDB_VERSION'" 2>/dev/null; then
    "$moto_venv/bin/pip" install -q --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
  fi
  if [ ! -f "$ls_venv/.installed" ]; then
    local py
    if ! py="$(find_python312)"; then
      log "LocalStack needs Python >= 3.12 (python3.13/python3.12 or a pyenv version); none found"
      exit 1
    fi
    log "installing LocalStack (host mode) with $py into $ls_venv (about 500 MB)"
    rm -rf "$ls_venv"
    "$py" -m venv "$ls_venv"
    # --no-deps: the lock is complete; joserfc in it declares cryptography >= 45, which pip's
    # resolver would refuse, and it is unused by EC2 and CloudWatch.
    "$ls_venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$here/localstack-requirements.lock"
    touch "$ls_venv/.installed"
  fi
  flock -u 9
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() {
  local url="$1" name="$2" pid="$3" tries=0
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start; its log:"
      tail -n 40 "$run/$name.log" >&2 || true
      exit 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ]; then
      log "$name did not answer at $url within 60 s"
      exit 1
    fi
    sleep 0.1
  done
}

start() {
  local owner="${1:-}"
  install
  run="$(mktemp -d "${TMPDIR:-/tmp}/costscope-emulators.XXXXXX")"
  local moto_port ls_port
  moto_port="$(free_port)"
  ls_port="$(free_port)"
  while [ "$ls_port" = "$moto_port" ]; do ls_port="$(free_port)"; done

  MOTO_EC2_LOAD_DEFAULT_AMIS=false \
    setsid "$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$run/moto.log" 2>&1 &
  local moto_pid=$!

  OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN="127.0.0.1:$ls_port" LOCALSTACK_HOST="127.0.0.1:$ls_port" \
    DNS_ADDRESS=0 SERVICES=ec2,cloudwatch,sts,s3 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 \
    LOCALSTACK_TELEMETRY=0 GATEWAY_SERVER=hypercorn EAGER_SERVICE_LOADING=1 \
    MOTO_EC2_LOAD_DEFAULT_AMIS=false \
    FILESYSTEM_ROOT="$run/ls" \
    setsid "$ls_venv/bin/python" -m localstack.runtime.main >"$run/localstack.log" 2>&1 &
  local ls_pid=$!

  echo "$moto_pid $ls_pid" >"$run/pids"
  echo "$run" >"$base/last-run"
  if [ -n "$owner" ]; then
    # Stop both when the test process that asked for them is gone, however it ended.
    (
      while kill -0 "$owner" 2>/dev/null; do sleep 1; done
      kill -TERM -- "-$moto_pid" "-$ls_pid" 2>/dev/null || true
      sleep 3
      kill -KILL -- "-$moto_pid" "-$ls_pid" 2>/dev/null || true
      rm -rf "$run"
    ) >/dev/null 2>&1 </dev/null &
    disown
  fi

  wait_for "http://127.0.0.1:$moto_port/moto-api/" moto "$moto_pid"
  wait_for "http://127.0.0.1:$ls_port/_localstack/health" localstack "$ls_pid"
  # EAGER_SERVICE_LOADING loads ec2, cloudwatch and s3 at start; health says "running" once
  # each is loaded ("available" is before). A request to a service still loading is answered
  # "no handler for operation" (InternalFailure, 501): seen in CI for EC2 DescribeImages when
  # only cloudwatch was awaited, so every one of them is awaited.
  local tries=0 health svc ready
  while :; do
    health="$(curl -fsS "http://127.0.0.1:$ls_port/_localstack/health" 2>/dev/null || true)"
    ready=1
    for svc in ec2 cloudwatch s3; do
      echo "$health" | grep -q "\"$svc\": \"running\"" || ready=0
    done
    [ "$ready" = 1 ] && break
    tries=$((tries + 1))
    if [ "$tries" -gt 900 ]; then
      log "LocalStack did not load ec2, cloudwatch and s3 within 90 s: $health"
      exit 1
    fi
    sleep 0.1
  done
  echo "moto=$moto_port localstack=$ls_port"
}

stop() {
  local run
  run="$(cat "$base/last-run" 2>/dev/null || true)"
  if [ -z "$run" ] || [ ! -f "$run/pids" ]; then
    return 0
  fi
  local pid
  for pid in $(cat "$run/pids"); do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$run"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  *)
    echo "usage: $0 install | start [OWNER_PID] | stop" >&2
    exit 2
    ;;
esac
