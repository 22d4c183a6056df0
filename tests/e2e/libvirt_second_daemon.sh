#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# libvirt_second_daemon.sh start|pause|stop DIR: a second libvirt daemon on
# this machine, standing in for a second host.  It runs unprivileged (as
# nobody, in session mode, everything under DIR), so it shares nothing with
# the system daemon and can be killed on its own.  `start` prints its URI;
# `pause` stops it with SIGSTOP, a daemon that hangs: its sockets still
# accept, nothing answers.
set -euo pipefail
dir=$2
pidfile=$dir/run/libvirt/libvirtd.pid
# The daemon's own pid file goes when it shuts down, and a daemon still
# shutting down may take a new one's with it: `start` keeps the pid here.
mypid=$dir/daemon.pid
case "$1" in
start)
	mkdir -p "$dir/run" "$dir/home" "$dir/images"
	chown -R nobody:nogroup "$dir"
	chmod 755 "$dir"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i HOME="$dir/home" XDG_RUNTIME_DIR="$dir/run" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		libvirtd --daemon --timeout 0
	uri="qemu:///session?socket=$dir/run/libvirt/libvirt-sock"
	for _ in $(seq 1 60); do
		if virsh -c "$uri" uri >/dev/null 2>&1; then
			# Its images live under DIR, not in a shared /var/tmp.
			virsh -c "$uri" pool-create-as luo-rig dir --target "$dir/images" >/dev/null
			cp "$pidfile" "$mypid"
			echo "$uri"
			exit 0
		fi
		sleep 1
	done
	echo "libvirt_second_daemon.sh: the daemon in $dir does not answer" >&2
	exit 1
	;;
pause)
	kill -STOP "$(cat "$mypid")"
	;;
stop)
	if [ -f "$mypid" ]; then
		pid=$(cat "$mypid")
		kill -CONT "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
		# Gone before its directory is: nothing of it outlives the test.
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# A daemon killed while it started a domain leaves that QEMU paused
	# for ever; a second host that goes away takes its VMs with it.
	pkill -KILL -u nobody -f -- "$dir/home/" 2>/dev/null || true
	;;
esac
