#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ci/setup must find the Debian mirror whatever apt layout the machine has:
# deb822 only (Debian 12 cloud images), a classic sources.list only, both,
# or neither (then it must say what to do).  Each layout is a fake root given
# through LUO_RIG_APT_ROOT; nothing touches the real apt state or the network.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0 passed=0

check() {
	local name=$1 want=$2 got=$3
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1))
	else
		echo "FAIL $name: expected '$want', got '$got'" >&2
		failures=$((failures + 1))
	fi
}

# Runs add_backports in a subshell against the fake root; prints the mirror
# it wrote (or nothing) and the exit status.
try_layout() {
	local root=$1
	(
		export LUO_RIG_APT_ROOT=$root LUO_RIG_SETUP_FUNCTIONS_ONLY=1
		# shellcheck source=/dev/null
		source "$top/ci/setup"
		sudo=""
		add_backports 2>"$root/stderr"
	)
	echo "status=$?"
	sed -n 's/^URIs: //p' "$root/etc/apt/sources.list.d/luo-rig-backports.sources" 2>/dev/null
}

layout() {
	local root="$scratch/$1"
	mkdir -p "$root/etc/apt/sources.list.d"
	echo "$root"
}

deb822='Types: deb
# a comment between fields
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main'

r=$(layout deb822-only)
printf '%s\n' "$deb822" >"$r/etc/apt/sources.list.d/debian.sources"
# Files apt ignores must be ignored here too.
echo 'deb http://other.example/debian bookworm main' >"$r/etc/apt/sources.list.d/x.list.disabled"
check deb822-only "status=0 http://mirror.example/debian" "$(try_layout "$r" | xargs)"

r=$(layout classic-only)
cat >"$r/etc/apt/sources.list" <<EOT
# deb cdrom:[Debian]/ bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://classic.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main
EOT
check classic-only "status=0 http://classic.example/debian" "$(try_layout "$r" | xargs)"

r=$(layout both)
echo 'deb http://classic.example/debian bookworm main' >"$r/etc/apt/sources.list"
printf '%s\n' "$deb822" >"$r/etc/apt/sources.list.d/debian.sources"
check both "status=0 http://classic.example/debian" "$(try_layout "$r" | xargs)"

r=$(layout has-backports)
printf '%s\n' "$deb822" | sed 's/bookworm-updates/bookworm-backports/' \
	>"$r/etc/apt/sources.list.d/debian.sources"
check has-backports "status=0" "$(try_layout "$r" | xargs)"

r=$(layout none)
echo 'deb https://vendor.example/apt stable main' >"$r/etc/apt/sources.list.d/vendor.list"
check none "status=2" "$(try_layout "$r" | xargs)"
if ! grep -q "add your Debian mirror" "$r/stderr"; then
	echo "FAIL none: the error does not say what to do: $(cat "$r/stderr")" >&2
	failures=$((failures + 1))
fi

r=$(layout empty)
check empty "status=2" "$(try_layout "$r" | xargs)"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
