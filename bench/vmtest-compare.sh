#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel tree's own way of running its LUO selftests (vmtest.sh: one VM
# per test, its own init.c, one kexec) against `luo-rig run --selftests-only`
# (one VM for all of them), on the same kernel image, one after the other.
#
# vmtest.sh builds a kernel of its own; this script does what its mkinitrd
# and run_qemu do by hand instead, with the rig's cached bzImage, so that
# both sides boot the same kernel.  Each step is printed before it runs.
#
#   bench/vmtest-compare.sh [KERNEL_TREE] [BZIMAGE]
#
# Defaults: the Debian tree and default kernel luo-rig uses.  Needs a built
# luo-rig in build/.
set -euo pipefail

rig_dir=$(realpath "$(dirname "$0")/..")
rig="$rig_dir/build/luo-rig"
tree=${1:-$(ls -d "${LUO_RIG_CACHE:-$HOME/.cache/luo-rig}"/src/linux-source-7.3_*/linux-source-7.3 | tail -1)}
kernel=${2:-$("$rig" kernel build 2>/dev/null)}
test_dir="$tree/tools/testing/selftests/liveupdate"
work=$(mktemp -d /tmp/luo-vmtest.XXXXXX)
hdr="$work/usr"
tests=(luo_kexec_simple luo_multi_session luo_stress_files luo_stress_sessions)

say() { echo "+ $*" >&2; "$@"; }

echo "# tree: $tree" >&2
echo "# kernel: $kernel" >&2
echo "# work: $work" >&2

# The tree's headers and its gen_init_cpio, as vmtest.sh's kernel build
# would leave them.
say make -s -C "$tree" O="$work/obj" ARCH=x86 headers_install INSTALL_HDR_PATH="$hdr" >/dev/null
say gcc -O2 -o "$work/gen_init_cpio" "$tree/usr/gen_init_cpio.c"

# vmtest.sh's mkinitrd: nolibc test binary and init, an inner initramfs for
# the kexec'd kernel inside the outer one.
say gcc -s -static -Os -nostdinc -nostdlib -fno-asynchronous-unwind-tables -fno-ident \
	-fno-stack-protector -I "$hdr/include" -I "$tree/tools/include/nolibc" \
	-o "$work/init" "$test_dir/init.c"

declare -A verdict seconds
total_start=$(date +%s.%N)
for t in "${tests[@]}"; do
	w="$work/$t"
	mkdir -p "$w"
	say gcc -static -O2 -nostdinc -nostdlib -I "$hdr/include" -I "$tree/tools/include/nolibc" \
		-I "$test_dir/lib/include" -o "$w/test_binary" "$test_dir/$t.c" "$test_dir/lib/lu_utils.c"
	cat > "$w/cpio_list_inner" <<EOT
dir /dev 0755 0 0
dir /proc 0755 0 0
dir /debugfs 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $work/init 0755 0 0
file /test_binary $w/test_binary 0755 0 0
EOT
	"$work/gen_init_cpio" "$w/cpio_list_inner" > "$w/inner_initrd.cpio"
	cat > "$w/cpio_list" <<EOT
dir /dev 0755 0 0
dir /proc 0755 0 0
dir /debugfs 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $work/init 0755 0 0
file /kernel $kernel 0644 0 0
file /test_binary $w/test_binary 0755 0 0
file /initrd.img $w/inner_initrd.cpio 0644 0 0
EOT
	"$work/gen_init_cpio" "$w/cpio_list" > "$w/initrd.cpio"

	# vmtest.sh's run_qemu, verbatim but for the paths.
	start=$(date +%s.%N)
	say timeout 30s qemu-system-x86_64 -m 1G -smp 2 -no-reboot -nographic -nodefaults \
		-accel tcg -accel hvf -accel kvm -serial file:"$w/qemu.serial" \
		-append "console=ttyS0 liveupdate=on panic=-1" -kernel "$kernel" \
		-initrd "$w/initrd.cpio" >/dev/null 2>&1 || true
	seconds[$t]=$(echo "$(date +%s.%N) - $start" | bc)
	grep -q "TEST PASSED" "$w/qemu.serial" && verdict[$t]=pass || verdict[$t]=fail
done
vmtest_total=$(echo "$(date +%s.%N) - $total_start" | bc)

start=$(date +%s.%N)
say "$rig" run --selftests-only --out "$work/luo-rig" >"$work/luo-rig.ktap" 2>"$work/luo-rig.log" || true
rig_total=$(echo "$(date +%s.%N) - $start" | bc)

echo
printf '%-22s %-8s %8s\n' "vmtest.sh way" verdict seconds
for t in "${tests[@]}"; do
	printf '%-22s %-8s %8.1f\n' "$t" "${verdict[$t]}" "${seconds[$t]}"
done
qemu_sum=0
for t in "${tests[@]}"; do qemu_sum=$(echo "$qemu_sum + ${seconds[$t]}" | bc); done
printf '%-22s %-8s %8.1f\n' "4 VMs" "" "$qemu_sum"
printf '%-22s %-8s %8.1f\n' "with each test's build" "" "$vmtest_total"
echo
echo "luo-rig run --selftests-only (1 VM, all five incl. the liveupdate harness):"
grep -E '^(not )?ok ' "$work/luo-rig.ktap"
printf 'total %.1f s (selftests cached: %s)\n' "$rig_total" \
	"$(grep -q cached "$work/luo-rig.log" && echo yes || echo no)"
echo "logs: $work"
