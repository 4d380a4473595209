#!/usr/bin/env bash
# `ray` as seen from the lab's laptop host: runs the real ray executable there (network
# namespace 100.64.0.2, its own /tmp/ray), with this process's arguments and environment.
# For tests that hand a `ray` path to code which runs it (e.g. runtime::drain::request_drain).
#
# The ray executable: $RAY, else $BITTRADER_TEST_RAY, else /tmp/rayvenv/bin/ray.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ray=${RAY:-${BITTRADER_TEST_RAY:-/tmp/rayvenv/bin/ray}}
RAY=$ray exec bash "$here/lab.sh" laptop-exec "$ray" "$@"
