#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ci/container: bad settings stop it with exit 2 before any container work
# (always checked; needs neither podman nor docker), and, with
# LUO_RIG_CONTAINER_TEST=1, the smoke scenario run in the image passes.
# That half builds the image when it is missing or stale (minutes) and
# needs podman or docker, so ci/test leaves it out: it exits 77 (skipped).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0

fail() {
	echo "FAIL $*" >&2
	failures=$((failures + 1))
}

LUO_RIG_ENGINE=lxc "$top/ci/container" run scenarios/smoke >/dev/null 2>"$scratch/err"
rc=$?
[ "$rc" = 2 ] || fail "LUO_RIG_ENGINE=lxc: exit $rc, expected 2"
grep -q 'LUO_RIG_ENGINE=lxc' "$scratch/err" || fail "LUO_RIG_ENGINE=lxc: message does not name it: $(cat "$scratch/err")"

"$top/ci/container" >/dev/null 2>&1
rc=$?
[ "$rc" = 2 ] || fail "no command: exit $rc, expected 2"

# shellcheck disable=SC2016
if ! grep -q '^ARG BASE=' "$top/ci/Containerfile" || ! grep -q '^FROM ${BASE}$' "$top/ci/Containerfile"; then
	fail "ci/Containerfile: the base is not an ARG (users with a registry pass debian:bookworm)"
fi

[ "$failures" = 0 ] || exit 1
[ "${LUO_RIG_CONTAINER_TEST:-}" = 1 ] || exit 77

# The kernel comes from the host's cache (mounted), or is built inside once.
cd "$top" || exit 1
"$top/ci/container" run --out "$scratch/out" scenarios/smoke >"$scratch/ktap" 2>"$scratch/log"
rc=$?
[ "$rc" = 0 ] || { tail -n 30 "$scratch/log" >&2; fail "ci/container run scenarios/smoke: exit $rc"; }
[ -f "$scratch/out/results.json" ] || fail "no results.json in the mounted --out directory"
if [ -f "$scratch/out/results.json" ]; then
	python3 - "$scratch/out/results.json" <<'PY' || fail "smoke verdicts in the container"
import json, sys
r = json.load(open(sys.argv[1]))
verdicts = [c["verdict"] for c in r["cases"]]
print("container smoke:", len(verdicts), "cases,", {v: verdicts.count(v) for v in set(verdicts)},
      "accel", r["summary"].get("accel"))
sys.exit(0 if verdicts and all(v == "pass" for v in verdicts) else 1)
PY
fi
[ "$failures" = 0 ]
