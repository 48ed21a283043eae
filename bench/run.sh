#!/usr/bin/env bash
# Kruispunt benchmarks in one command: builds the release binaries, installs Debian's nginx-light
# when nginx is missing (the proxy setup needs it), and runs every setup at every concurrency.
# Arguments go to `kruispunt-bench run` (see `bench/run.sh --help`), e.g.
#   bench/run.sh --requests 2000 --note "Preliminary run"
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "bench: nginx is missing; installing nginx-light" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq nginx-light >&2
fi

cargo build --release -p kruispunt-broker -p kruispunt-civil-registry -p kruispunt-bench

# The command as typed, for docs/BENCHMARKS.md: arguments with special characters single-quoted.
recorded="bench/run.sh"
for argument in "$@"; do
  if [[ "$argument" =~ ^[A-Za-z0-9_./,:=+-]+$ ]]; then
    recorded+=" $argument"
  else
    recorded+=" '${argument//\'/\'\\\'\'}'"
  fi
done
KRUISPUNT_BENCH_COMMAND="$recorded" exec target/release/kruispunt-bench run "$@"
