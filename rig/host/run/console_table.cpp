// SPDX-License-Identifier: GPL-2.0-only
//
// The rows follow the kernel's own report headers (mm/kasan/report.c,
// kernel/panic.c __warn(), kernel/locking/lockdep.c, kernel/rcu/tree_stall.h,
// kernel/hung_task.c, arch/x86/kernel/traps.c, lib/ubsan.c, ...).  The
// titles are the names syzkaller's dashboard uses for the same reports, so
// that a crash seen here can be looked up there.
#include "host/run/console_table.hpp"

#include <array>

namespace luo::host {

namespace {

using F = FrameFrom;

// A function name as the kernel prints it in a header ("in foo+0x1a/0x40").
#define FN "([A-Za-z0-9_]+)"
// A source position ("fs/open.c:123").
#define SRC "([A-Za-z0-9_/.\\-]+\\.[a-z]+:[0-9]+)"

const auto kRules = std::to_array<ReportRule>({
	// Memory safety.
	{"KASAN", "BUG: KASAN:", "BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in " FN,
	 "KASAN: invalid-free in {f}", F::header, "slab_|kfree|vunmap|vfree"},
	{"KASAN", "BUG: KASAN:", "BUG: KASAN: ([a-z\\-]+) in " FN, "KASAN: {1} {rw} in {f}", F::header,
	 "kernel_fault|tag_check|mem_abort|^el1_|^el1h_", nullptr, false, "(Read|Write) (of size|at addr)"},
	// Older KASAN headers, and reports cut before their access line.
	{"KASAN", "BUG: KASAN:", "BUG: KASAN: ([a-z\\-]+) in ([A-Za-z0-9_.]+)[^ ]* at addr",
	 "KASAN: {1} in {2} at addr ADDR"},
	{"KASAN", "BUG: KASAN:", "BUG: KASAN: ([a-z\\-]+) in " FN, "KASAN: {1} in {f}", F::header,
	 "kernel_fault|tag_check|mem_abort|^el1_|^el1h_"},
	{"KASAN", "BUG: KASAN:", "BUG: KASAN: ([a-z\\-]+) on address", "KASAN: {1} {rw}"},
	{"KASAN", "BUG: KASAN:", "BUG: KASAN: (.*)", "KASAN: {1}"},
	{"KFENCE", "BUG: KFENCE:", "BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in " FN,
	 "KFENCE: {1} {2} in {f}", F::header},
	{"KFENCE", "BUG: KFENCE:", "BUG: KFENCE: invalid free in " FN, "KFENCE: invalid free in {f}", F::header},
	{"KFENCE", "BUG: KFENCE:", "BUG: KFENCE: invalid (read|write) in " FN, "KFENCE: invalid {1} in {f}",
	 F::header},
	{"KFENCE", "BUG: KFENCE:", "BUG: KFENCE: memory corruption in " FN, "KFENCE: memory corruption in {f}",
	 F::header},
	{"KCSAN", "BUG: KCSAN:", "BUG: KCSAN: (.*)", "KCSAN: {1}"},
	{"KMSAN", "BUG: KMSAN:", "BUG: KMSAN: ([a-z\\-]+) in " FN, "KMSAN: {1} in {f}", F::header},
	{"UBSAN", "UBSAN:", "UBSAN: Undefined behaviour in", "UBSAN: undefined-behaviour in {f}", F::trace,
	 "ubsan|overflow"},
	{"UBSAN", "UBSAN:", "UBSAN: (.*?) in", "UBSAN: {1} in {f}", F::trace, "ubsan|overflow"},
	{"UBSAN", "UBSAN:", "UBSAN: ([a-z\\-]+)", "UBSAN: {1} in {f}", F::trace, "ubsan|overflow"},

	// Faults and traps.
	{"BUG", "BUG:",
	 "BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)",
	 "BUG: unable to handle kernel paging request in {f}", F::rip_trace},
	{"BUG", "BUG:",
	 "BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)",
	 "BUG: unable to handle kernel NULL pointer dereference in {f}", F::rip_trace},
	{"BUG", "BUG:", "BUG: (?:unable to handle kernel|Unable to handle kernel)", "BUG: unable to handle kernel"},
	{"BUG", "Unable to handle kernel",
	 "Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)",
	 "BUG: unable to handle kernel {1} in {f}", F::rip_trace},
	{"GPF", "general protection fault", "general protection fault.*:", "general protection fault in {f}",
	 F::rip_trace},
	{"GPF", "stack segment: ", "stack segment: ", "stack segment fault in {f}", F::rip_trace},
	{"double-fault", "PANIC: double fault", "PANIC: double fault", "PANIC: double fault in {f}", F::rip},
	{"divide-error", "divide", "divide[ _]error: ", "divide error in {f}", F::rip},
	{"invalid-opcode", "invalid opcode: ", "invalid opcode: ", "invalid opcode in {f}", F::rip},
	{"int3", "int3: ", "int3: ", "int3 in {f}", F::rip_trace},
	{"BUG", "kernel BUG", "kernel BUG at mm/usercopy\\.c", "BUG: bad usercopy in {f}", F::trace,
	 "usercopy|__check"},
	{"DEBUG_LIST", "kernel BUG", "kernel BUG at lib/list_debug\\.c", "BUG: corrupted list in {f}", F::trace},
	{"BUG", "kernel BUG", "kernel BUG at (.*)", "kernel BUG in {f}", F::rip_trace, "^skb_"},
	{"BUG", "Kernel BUG", "Kernel BUG (.*)", "kernel BUG {1}"},
	{"BUG", "Internal error:", "Internal error:", "Internal error in {f}", F::rip_trace},

	// Locking (lockdep, spinlock debugging), new and old ("INFO:") headers.
	{"lockdep", "possible circular locking", "INFO: possible circular locking dependency detected",
	 "possible deadlock in {f}", F::at_first, nullptr, "is trying to acquire lock"},
	{"lockdep", "lock order detected", "INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
	 "possible deadlock in {f}", F::at_first, nullptr, "is trying to acquire"},
	{"lockdep", "possible circular locking", "WARNING: possible circular locking dependency detected",
	 "possible deadlock in {f}", F::at, "process_one_work|flush_workqueue|drain_workqueue|destroy_workqueue",
	 "is trying to acquire lock"},
	{"lockdep", "possible irq lock inversion", "(?:WARNING|INFO): possible irq lock inversion dependency detected",
	 "possible deadlock in {f}", F::at_first, nullptr, "just changed the state of lock"},
	{"lockdep", "lock order detected", "(?:WARNING|INFO): .*-safe -> .*-unsafe lock order detected",
	 "possible deadlock in {f}", F::after, nullptr, "which became .* at:"},
	{"lockdep", "possible recursive locking", "(?:WARNING|INFO): possible recursive locking detected",
	 "possible deadlock in {f}", F::at_first, nullptr, "is trying to acquire lock"},
	{"lockdep", "inconsistent lock state", "INFO: inconsistent lock state", "inconsistent lock state in {f}",
	 F::at_first, nullptr, "takes"},
	{"lockdep", "inconsistent lock state", "WARNING: inconsistent lock state",
	 "inconsistent lock state in {f}", F::trace},
	{"lockdep", "suspicious RCU usage", "WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in {f}",
	 F::trace, "rcu|kmem|slab"},
	{"lockdep", "suspicious RCU usage", "INFO: suspicious RCU usage", "INFO: suspicious RCU usage in {f}",
	 F::trace, "rcu|kmem|slab"},
	{"lockdep", "non-static key", "INFO: trying to register non-static key",
	 "INFO: trying to register non-static key in {f}", F::trace, "stack|lock|IRQ"},
	{"lockdep", "bad unlock balance", "(WARNING|BUG): bad unlock balance detected!",
	 "{1}: bad unlock balance in {f}", F::at},
	{"lockdep", "held lock freed", "(WARNING|BUG): held lock freed!", "{1}: held lock freed in {f}", F::at_first},
	{"lockdep", "still has locks held", "(WARNING|BUG): .*still has locks held!",
	 "{1}: still has locks held in {f}", F::at_first},
	{"lockdep", "lock held when returning", "(WARNING|BUG): lock held when returning to user space",
	 "{1}: lock held when returning to user space in {f}", F::at_first, nullptr,
	 "leaving the kernel with locks still held"},
	{"lockdep", "Nested lock was not taken", "WARNING: Nested lock was not taken",
	 "WARNING: nested lock was not taken in {f}", F::rip_trace},
	{"lockdep", "Invalid wait context", "BUG: Invalid wait context", "WARNING: locking bug in {f}", F::trace,
	 "lock_sock|release_sock"},
	{"lockdep", "BUG: ", "BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
	 "BUG: {1} {2} in {f}", F::trace, "spin_|_lock|_unlock"},

	// Stalls and hangs.
	{"soft-lockup", "BUG: soft lockup", "BUG: soft lockup", "BUG: soft lockup in {f}", F::stall},
	{"hard-lockup", "hard LOCKUP", "Watchdog detected hard LOCKUP", "BUG: hard lockup in {f}", F::stall},
	{"rcu-stall", "INFO: rcu", "INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall",
	 "INFO: rcu detected stall in {f}", F::stall, "apic_timer_interrupt|rcu", "apic_timer_interrupt|Exception stack"},
	{"hung-task", "blocked ", "INFO: task .* blocked (?:in I/O wait )?for more than [0-9]+ seconds",
	 "INFO: task hung in {f}", F::hang},
	{"hung-task", "can't die", "INFO: task .* can't die for more than .* seconds", "INFO: task can't die in {f}",
	 F::trace, "schedule"},
	{"BUG", "workqueue lockup", "BUG: workqueue lockup", "BUG: workqueue lockup"},

	// Context and state checks.
	{"BUG", "sleeping function", "BUG: sleeping function called from invalid context",
	 "BUG: sleeping function called from invalid context in {f}", F::trace},
	{"BUG", "scheduling while atomic", "BUG: scheduling while atomic", "BUG: scheduling while atomic in {f}",
	 F::trace, "schedule"},
	{"BUG", "in preemptible", "BUG: using ([a-z_]+)\\(\\) in preemptible",
	 "BUG: using {1}() in preemptible code in {f}", F::trace,
	 "dump_stack|preemption|preempt|debug_|processor_id|this_cpu"},
	{"BUG", "stack guard page", "BUG: .*stack guard page was hit at", "BUG: stack guard page was hit in {f}",
	 F::stall},
	{"BUG", "Bad page", "BUG: Bad page (state|cache)", "BUG: Bad page {1} in {f}", F::after,
	 "(free|put|get|update|release)_page|free_unref|^_*folio|truncate_inode_pages|page_frag_free|alloc|vmap|page_owner",
	 "page last allocated"},
	{"BUG", "Bad page map", "BUG: Bad page map", "BUG: Bad page map"},
	{"BUG", "Bad rss-counter", "BUG: Bad rss-counter state", "BUG: Bad rss-counter state"},
	{"BUG", "on freeing mm", "BUG: non-zero (nr_ptes|nr_pmds) on freeing mm", "BUG: non-zero {1} on freeing mm"},
	{"BUG", "still in use", "BUG: Dentry .* still in use \\([0-9]+\\) \\[(unmount) of ",
	 "BUG: Dentry still in use in {1}"},
	{"BUG", "leaked lock or atomic", "BUG: workqueue leaked lock or atomic",
	 "BUG: workqueue leaked lock or atomic in {f}", F::after, nullptr, "last function: "},
	{"BUG", "Object already free", "BUG kmalloc-.*: Object already free", "BUG: Object already free"},

	// Leaks: the kernel's own report, and what the guest copies from
	// /sys/kernel/debug/kmemleak at the end of a debug run.
	{"kmemleak", "BUG: memory leak", "BUG: memory leak", "memory leak in {f}", F::after,
	 "kmemleak|mmap|kmem|slab|alloc|create_object|idr_get|list_lru_init|kasprintf|kvasprintf|pcpu_create|strdup|strndup|memdup",
	 "backtrace(?: \\(crc [0-9a-f]*\\))?:", true},
	{"kmemleak", "unreferenced object", "unreferenced object 0x[0-9a-f]+ \\(size [0-9]+\\)", "memory leak in {f}",
	 F::after,
	 "kmemleak|mmap|kmem|slab|alloc|create_object|idr_get|list_lru_init|kasprintf|kvasprintf|pcpu_create|strdup|strndup|memdup",
	 "backtrace(?: \\(crc [0-9a-f]*\\))?:"},

	// WARN(): the named checkers first, then any WARNING with a source position.
	{"debugobjects", "WARNING:", "WARNING: .*lib/debugobjects\\.c.* (?:debug_print|debug_check|at)",
	 "WARNING: ODEBUG bug in {f}", F::rip_trace,
	 "debug_|rcu|hrtimer_|timer_|work_|percpu_|vunmap|vfree|__free_|debug_check|kobject_"},
	{"WARNING", "WARNING:", "WARNING: .*mm/usercopy\\.c.* (?:usercopy_warn|at)", "WARNING: bad usercopy in {f}",
	 F::rip_trace, "usercopy|__check"},
	{"WARNING", "WARNING:", "WARNING: .*lib/kobject\\.c.* (?:kobject_|at)", "WARNING: kobject bug in {f}",
	 F::rip_trace, "kobject_"},
	{"WARNING", "WARNING:", "WARNING: .*fs/proc/generic\\.c.* (?:proc_register|at)",
	 "WARNING: proc registration bug in {f}", F::rip_trace, "proc_"},
	{"refcount", "WARNING:", "WARNING: .*lib/refcount\\.c.* (?:refcount_|at)", "WARNING: refcount bug in {f}",
	 F::rip_trace, "refcount|kobject_"},
	{"lockdep", "WARNING:", "WARNING: .*kernel/locking/lockdep\\.c.*lock_", "WARNING: locking bug in {f}",
	 F::rip_trace, "lock_sock|release_sock"},
	{"WARNING", "WARNING:", "WARNING: .*mm/.*\\.c.* k?.?malloc", "WARNING: kmalloc bug in {f}", F::rip_trace,
	 "kmalloc|krealloc|slab|kmem"},
	{"WARNING", "WARNING:", "WARNING: .*mm/vmalloc\\.c.*__vmalloc_node", "WARNING: zero-size vmalloc in {f}",
	 F::rip_trace},
	{"WARNING", "WARNING:", "WARNING: " SRC " at 0x[0-9]+, CPU#[0-9]+", "WARNING in {f}", F::rip_trace},
	{"WARNING", "WARNING:", "WARNING: .* at " SRC " " FN, "WARNING in {f}", F::rip_trace},
	{"WARNING", "WARNING:", "WARNING: " SRC " at " FN, "WARNING in {f}", F::rip_trace},
	{"WARNING", "WARNING:", "WARNING: \\[.*\\] " SRC " at " FN, "WARNING in {f}", F::rip_trace},
	{"WARNING", "WARNING:", "WARNING: kernel stack regs .* has bad '([^']+)' value",
	 "WARNING: kernel stack regs has bad '{1}' value"},
	{"WARNING", "WARNING:", "WARNING: kernel stack frame pointer .* has bad value",
	 "WARNING: kernel stack frame pointer has bad value"},
	{"WARNING", "WARNING:", "WARNING: CPU: [0-9]+ PID: [0-9]+ at ", "WARNING in {f}", F::rip_trace},

	// Panics.
	{"panic", "Kernel panic", "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: " FN "\\+",
	 "kernel panic: stack is corrupted in {1}"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in {f}",
	 F::trace, "stack_chk"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: corrupted stack end",
	 "kernel panic: corrupted stack end in {f}", F::stall, "schedule|retint_kernel"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: kernel stack overflow", "kernel stack overflow in {f}",
	 F::stall, "bad_stack"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: Attempted to kill init!",
	 "kernel panic: Attempted to kill init!"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: Couldn't open N_TTY ldisc",
	 "kernel panic: Couldn't open N_TTY ldisc"},
	// The end of a report printed above: named alone only when that was lost.
	{"panic", "Kernel panic", "Kernel panic - not syncing: Fatal exception", "kernel panic: Fatal exception"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: panic_on_warn set", "kernel panic: panic_on_warn set"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: hung_task: blocked tasks",
	 "kernel panic: hung_task: blocked tasks"},
	{"panic", "Kernel panic", "Kernel panic - not syncing: (.*)", "kernel panic: {1}"},

	// The kernel's own notes that something broke, printed before (or
	// instead of) a WARNING or BUG.
	{"WARNING", "cut here", "------------\\[ cut here \\]------------", "WARNING: corrupted", F::none, nullptr,
	 nullptr, true},
	{"refcount", "refcount_t: ", "refcount_t: ", "WARNING: refcount bug in {f}", F::trace, "refcount|kobject_",
	 nullptr, true},
	{"DEBUG_LIST", " corruption", "list_(?:add|del)(?:_rcu)? corruption", "BUG: corrupted list in {f}", F::trace,
	 nullptr, nullptr, true},
	{"debugobjects", "ODEBUG: ", "ODEBUG: ", "WARNING: ODEBUG bug in {f}", F::trace,
	 "debug_|rcu|hrtimer_|timer_|work_|percpu_|vunmap|vfree|__free_|debug_check|kobject_", nullptr, true},
	{"BUG", "unregister_netdevice: waiting for",
	 "unregister_netdevice: waiting for .* to become free", "unregister_netdevice: waiting for DEV to become free"},
	{"BUG", "VFS: Close: file count is 0", "VFS: Close: file count is 0",
	 "VFS: Close: file count is zero (use-after-free)"},
	{"BUG", "VFS: Busy inodes after unmount", "VFS: Busy inodes after unmount",
	 "VFS: Busy inodes after unmount (use-after-free)"},

	// Anything else the kernel calls a bug: named by its own line.
	{"BUG", "BUG: ", "BUG: (.*[^ ].*)", "BUG: {1}"},
	{"WARNING", "WARNING: ", "WARNING: (.*[^ ].*)", "WARNING: {1}"},
	{"Oops", "Oops", "\\bOops: |Oops\\[#", "Oops in {f}", F::rip_trace},
});

#undef FN
#undef SRC

// Lines with a literal above that report nothing.
const auto kIgnores = std::to_array<const char *>({
	"INFO: lockdep is turned off",
	"INFO: Stall ended before state dump start",
	"general protection fault .* error:[0-9]+ in ", // a user-space fault
	"ODEBUG: selftest",
	// Printed by user space or firmware, not the kernel.
	"WARNING: /etc/ssh/moduli does not exist",
	"WARNING: workqueue cpumask: online intersect > possible intersect",
	"WARNING: [Tt]he mand mount option",
	"WARNING: Unprivileged eBPF is enabled",
	"WARNING: fbcon: Driver '.*' missed to adjust virtual screen size",
	"WARNING: See https.* for mitigation options",
	"WARNING: kernel not compiled with CPU_SRSO",
	"EXT4-[Ff][Ss](?: \\(.*\\))?:",
	"[Ww]arning: .* uses (deprecated v2 capabilities|wireless extensions)",
	"XFS \\(\\w+\\): WARNING",
	"BUG: no syscalls can create resource",
	// "BUG: " inside a word or a user program's message.
	"[A-Za-z_]BUG: ",
	"DEBUG: ",
});

} // namespace

std::span<const ReportRule> report_rules()
{
	return kRules;
}

std::span<const char *const> report_ignores()
{
	return kIgnores;
}

} // namespace luo::host
