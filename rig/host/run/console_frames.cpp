// SPDX-License-Identifier: GPL-2.0-only
#include "host/run/console_frames.hpp"

#include <cctype>
#include <map>
#include <mutex>
#include <regex>

namespace luo::host {

namespace {

// Frames that say how a report was printed or which generic helper tripped,
// not where the bug is: the reporting machinery, allocators, lock and
// string primitives, list and refcount checkers, ...
constexpr const char *kCommonSkip =
	"__sanitizer|__asan|kasan|hwasan|__msan|kmsan|kcsan_setup_watchpoint|check_memory_region|"
	"check_heap_object|check_object|read_word_at_a_time|(read|write)_once_.*nocheck|"
	"print_address_description|panic|invalid_op|report_bug|fixup_bug|print_report|print_usage_bug|"
	"do_error|_trap$|do_trap|show_stack|dump_stack|walk_stack|dump_backtrace|warn_slowpath|warn_alloc|"
	"warn_bogus|__warn|alloc_page|k?v?(m|z|c)alloc|krealloc|kmem_cache|allocate_slab|"
	"__alloc_frozen_pages_noprof|folio_(alloc|unlock)|filemap_alloc_folio|__filemap_get_folio|"
	"find_or_create_page|do_read_cache_folio|read_cache_page|pagecache_get_page|"
	"grab_cache_page_write_begin|slab_|debug_object|timer_is_static_object|work_is_static_object|"
	"__might_fault|print_unlock|imbalance_bug|lockdep|bh_enable|bh_disable|perf_trace|lock_acquire|"
	"lock_release|lock_class|mark_lock|(reacquire|mark)_held_locks|raw_spin_rq|spin_lock|spin_trylock|"
	"spin_unlock|read_lock|read_trylock|write_lock|write_trylock|read_unlock|write_unlock|^down$|"
	"down_read|down_write|down_trylock|up_read|up_write|^mutex_|^__mutex_|^rt_mutex_|owner_on_cpu|"
	"osq_lock|osq_unlock|atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)|"
	"(set|clear|change|test)_bit|__wake_up|^refcount_|^kref_|ref_tracker|seqprop_assert|memcpy|memcmp|"
	"memset|memchr|memmove|memdup|strcmp|strncmp|strcpy|strlcpy|strncpy|strscpy|strlen|strstr|strnstr|"
	"strnlen|strchr|strdup|strndup|copy_to_user|copy_from_user|copy_to_iter|copy_from_iter|"
	"copy_page_to_iter|copy_page_from_iter|copy_folio_to_iter|^copyin$|^copyout$|put_user|get_user|"
	"might_fault|might_sleep|list_add|list_del|list_replace|list_move|list_splice|^rb_|^__rb_|"
	"_indirect_thunk_|string|pointer|snprintf|scnprintf|kasprintf|kvasprintf|printk|va_format|"
	"dev_info|dev_notice|dev_warn|dev_err|dev_alert|dev_crit|dev_emerg|del_timer|flush_work|"
	"__cancel_work_timer|cancel_work_sync|try_to_grab_pending|flush_workqueue|drain_workqueue|"
	"destroy_workqueue|queue_work|finish_wait|kthread_stop|kobject_|add_uevent_var|get_device_parent|"
	"device_add|device_del|device_unregister|device_destroy|device_release|devres_release_all|"
	"sysfs_remove|device_remove_file|^complete$|wait_for_completion|^kv?free$|kfree_skb|readb$|readw$|"
	"readl$|readq$|writeb$|writew$|writel$|writeq$|^crc[0-9]+|__might_resched|assertfail|^iput$|"
	"^iput_final$|^ihold$|hex_dump_to_buffer|print_hex_dump|^klist_|(trace|lockdep)_(hard|soft)irq|"
	"^(un)?lock_page|stack_trace_consume_entry|arch_stack_walk|stack_trace_save|insert_work|"
	"__queue_delayed_work|queue_delayed_work_on|ida_free|print_tainted|xas_(start|load|find)|"
	"find_lock_entries|truncate_inode_pages_range|__phys_addr|__fortify_report|cleanup_srcu_struct|"
	"rhashtable_lookup|drop_nlink|^get_taint$|^put_device$|lock_timer_base|__timer_delete_sync|"
	"__mod_timer|fast_dput|dput|mark_buffer_dirty";

// Syscall wrappers differ by architecture and kernel version; the
// syscall's own name is what stays.
constexpr const char *kStripPrefixes[] = {
	"SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_", "__sys_",
	"__se_", "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
};

// Where a looping task spends its time is random; the dispatcher it was
// called from (a syscall, a work item, a timer) is what names the stall.
const std::regex &stall_anchors()
{
	static const std::regex re(
		"process_one_work|do_syscall_|do_fast_syscall_|sysenter_dispatch|tracesys_phase2|"
		"invoke_syscall|netif_receive_skb|do_softirq|call_timer_fn|_run_timers|run_timer_softirq|"
		"hrtimer_run|run_ksoftirqd|smpboot_thread_fn|^kthread$|start_secondary|cpu_startup_entry|"
		"ret_from_fork|vfs_write|vfs_read|vfs_iter_read|vfs_iter_write|do_iter_read|do_iter_write|"
		"call_read_iter|call_write_iter|new_sync_read|new_sync_write|vfs_ioctl|ksys_ioctl|"
		"compat_ioctl|compat_sys_ioctl|blkdev_driver_ioctl|blkdev_ioctl|do_iter_readv_writev|"
		"^call_mmap|mmap_region|do_mmap|do_dentry_open|vfs_open|^sock_sendmsg|^sock_recvmsg|"
		"^sock_release|^__sock_release|^setsockopt$|kernel_setsockopt|sock_common_setsockopt|"
		"^listen$|kernel_listen|sk_common_release|^sock_mmap|^accept$|kernel_accept|^sock_do_ioctl|"
		"^sock_ioctl|^compat_sock_ioctl|^nfnetlink_rcv_msg|^rtnetlink_rcv_msg|^netlink_dump|"
		"^(sys_)?(socketpair|connect|ioctl)|__do_fault|do_page_fault|^page_fault$|__fput|"
		"task_work_run|exit_to_usermode|smp_call_function|tasklet_action|tasklet_hi_action");
	return re;
}

const std::regex &skip_regex(const char *extra)
{
	static std::mutex mu;
	static std::map<const char *, std::regex> cache;
	std::lock_guard lock(mu);
	auto it = cache.find(extra);
	if (it == cache.end()) {
		std::string all = kCommonSkip;
		if (extra)
			all += std::string("|") + extra;
		it = cache.emplace(extra, std::regex(all, std::regex::optimize)).first;
	}
	return it->second;
}

std::string strip_syscall_prefix(const std::string &f)
{
	std::string best = f;
	for (const char *p : kStripPrefixes) {
		std::string_view pv(p);
		if (f.size() > pv.size() && f.compare(0, pv.size(), pv) == 0 && f.size() - pv.size() < best.size())
			best = f.substr(pv.size());
	}
	return best;
}

bool is_func_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "[<ffffffff81234567>]" or "[<0x...>]" or "[ffff...]": a printed PC.
size_t skip_pc(std::string_view l, size_t i)
{
	if (i >= l.size() || l[i] != '[')
		return i;
	size_t j = i + 1;
	if (j < l.size() && l[j] == '<')
		j++;
	if (l.substr(j, 2) == "0x")
		j += 2;
	size_t digits = j;
	while (j < l.size() && std::isxdigit(static_cast<unsigned char>(l[j])))
		j++;
	if (j == digits)
		return i;
	if (j < l.size() && l[j] == '>')
		j++;
	if (j >= l.size() || l[j] != ']')
		return i;
	return j + 1;
}

// A frame may print its PC twice ("[<ffff...>] [<ffff...>] f+0x1/0x2" on
// older kernels): past both, and the blanks after each.
size_t skip_pcs(std::string_view l, size_t i)
{
	for (int n = 0; n < 2; n++) {
		size_t j = skip_pc(l, i);
		if (j == i)
			break;
		i = j;
		while (i < l.size() && l[i] == ' ')
			i++;
	}
	return i;
}

// "func+0x.." or "func.cold+0x.." at position i; the name if so.
std::optional<std::string> func_at(std::string_view l, size_t i)
{
	size_t j = i;
	while (j < l.size() && is_func_char(l[j]))
		j++;
	if (j == i || j >= l.size() || (l[j] != '+' && l[j] != '.'))
		return std::nullopt;
	return std::string(l.substr(i, j - i));
}

bool starts_stack(std::string_view l)
{
	static const std::regex re(
		"Call [Tt]race|Allocated:|Allocated by task [0-9]+:|Freed:|Freed by task [0-9]+:|"
		"[^k] backtrace(?: \\(crc [0-9a-f]*\\))?:|Backtrace:|Uninit was stored to memory at");
	return std::regex_search(l.begin(), l.end(), re);
}

// The kernel RIP of a register dump, "RIP: 0010:foo+0x1a/0x40" (not a
// user-space "RIP: 0033:").
std::optional<std::string> rip_function(std::string_view l)
{
	for (const char *key : {"RIP: 0010:", "IP: ", "PC is at "}) {
		auto p = l.find(key);
		if (p == std::string_view::npos)
			continue;
		size_t i = p + std::string_view(key).size();
		i = skip_pcs(l, i);
		if (auto f = func_at(l, i))
			return f;
	}
	return std::nullopt;
}

// "... at: foo+0x1a/0x40" or "... [<ffff...>] foo+0x1a" (lockdep's lock lines).
std::optional<std::string> at_function(std::string_view l)
{
	auto p = l.find("at: ");
	if (p != std::string_view::npos) {
		size_t i = p + 4;
		size_t j = skip_pc(l, i);
		while (j < l.size() && l[j] == ' ')
			j++;
		if (auto f = func_at(l, j))
			return f;
	}
	for (size_t i = l.find('['); i != std::string_view::npos; i = l.find('[', i + 1)) {
		size_t j = skip_pc(l, i);
		if (j == i || j >= l.size() || l[j] != ' ')
			continue;
		while (j < l.size() && l[j] == ' ')
			j++;
		if (auto f = func_at(l, j))
			return f;
	}
	return std::nullopt;
}

// 32-bit Arm prints a frame and its caller on one line:
// "[<80165504>] (kthread_stop) from [<8163f8d8>] (vhci_shutdown_connection+0x7c/0x3a0)".
std::optional<std::pair<std::string, std::string>> arm_frames(std::string_view l)
{
	size_t i = 0;
	while (i < l.size() && l[i] == ' ')
		i++;
	size_t j = skip_pc(l, i);
	if (j == i || l.substr(j, 2) != " (")
		return std::nullopt;
	j += 2;
	size_t name = j;
	while (j < l.size() && (is_func_char(l[j]) || l[j] == '.'))
		j++;
	if (j == name || l.substr(j, 7) != ") from ")
		return std::nullopt;
	std::string first(l.substr(name, j - name));
	first = first.substr(0, first.find('.'));
	size_t k = skip_pc(l, j + 7);
	if (k == j + 7 || l.substr(k, 2) != " (")
		return std::nullopt;
	auto second = func_at(l, k + 2);
	if (!second)
		return std::nullopt;
	return std::make_pair(first, *second);
}

// The frames of the first stack trace from `from` on, up to the next one.
std::vector<std::string> trace_frames(const std::vector<std::string_view> &lines, size_t from,
				      bool need_start)
{
	std::vector<std::string> out;
	size_t i = from;
	if (need_start) {
		while (i < lines.size() && !starts_stack(lines[i]))
			i++;
		i++;
	}
	for (; i < lines.size(); i++) {
		if (starts_stack(lines[i]))
			break;
		if (auto pair = arm_frames(lines[i])) {
			out.push_back(pair->first);
			out.push_back(pair->second);
		} else if (auto f = frame_function(lines[i])) {
			out.push_back(*f);
		}
	}
	return out;
}

std::string first_unskipped(const std::vector<std::string> &frames, const std::regex &skip)
{
	for (const auto &f : frames)
		if (!std::regex_search(f, skip))
			return strip_syscall_prefix(f);
	return {};
}

std::string stall_frame(const std::vector<std::string> &frames, const std::regex &skip)
{
	std::vector<std::string> kept;
	for (const auto &f : frames)
		if (!std::regex_search(f, skip))
			kept.push_back(strip_syscall_prefix(f));
	if (kept.empty())
		return {};
	std::string prev = kept.front();
	for (const auto &f : kept) {
		if (std::regex_search(f, stall_anchors()))
			return f.find("smp_call_function") != std::string::npos ? "smp_call_function" : prev;
		prev = f;
	}
	return {};
}

std::string hang_frame(const std::vector<std::string> &frames)
{
	for (const auto &raw : frames) {
		auto f = strip_syscall_prefix(raw);
		if (f.find("rtnl_lock") != std::string::npos)
			return f;
		for (const char *s : {"synchronize_rcu", "synchronize_srcu", "synchronize_net", "synchronize_sched"})
			if (f.find(s) != std::string::npos)
				return "synchronize_rcu";
	}
	static const char *const waits[] = {"sched", "_lock", "_slowlock", "down", "rwsem", "completion",
					    "kthread", "wait", "synchronize", "context_switch", "__switch_to",
					    "cancel_delayed_work", "rcu_barrier"};
	for (const auto &raw : frames) {
		auto f = strip_syscall_prefix(raw);
		bool waiting = false;
		for (const char *w : waits)
			waiting = waiting || f.find(w) != std::string::npos;
		if (!waiting)
			return f;
	}
	return {};
}

} // namespace

std::string_view strip_console_prefix(std::string_view l)
{
	for (;;) {
		size_t i = 0;
		while (i < l.size() && l[i] == ' ')
			i++;
		if (i >= l.size() || l[i] != '[')
			return l;
		size_t j = i + 1;
		while (j < l.size() && l[j] == ' ')
			j++;
		if (j < l.size() && (l[j] == 'T' || l[j] == 'C'))
			j++;
		size_t digits = j;
		while (j < l.size() && (std::isdigit(static_cast<unsigned char>(l[j])) || l[j] == '.'))
			j++;
		if (j == digits || j >= l.size() || l[j] != ']')
			return l;
		l.remove_prefix(j + 1);
		if (!l.empty() && l[0] == ' ')
			l.remove_prefix(1);
	}
}

std::optional<std::string> frame_function(std::string_view l)
{
	size_t i = 0;
	while (i < l.size() && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return func_at(l, skip_pcs(l, i));
}

std::string guilty_function(const std::vector<std::string_view> &lines, const ReportRule &rule,
			    const std::string &header_func)
{
	const std::regex &skip = skip_regex(rule.skip);
	std::optional<std::regex> marker;
	if (rule.marker)
		marker.emplace(rule.marker);
	auto after_marker = [&]() -> size_t {
		if (!marker)
			return 1;
		for (size_t i = 1; i < lines.size(); i++)
			if (std::regex_search(lines[i].begin(), lines[i].end(), *marker))
				return i + 1;
		return lines.size();
	};
	// Older kernels print the trap's registers inside the WARNING's trace.
	auto rip = [&]() -> std::optional<std::string> {
		for (size_t i = 0; i < lines.size(); i++) {
			if (auto f = rip_function(lines[i]))
				return f;
		}
		return std::nullopt;
	};

	std::vector<std::string> frames;
	switch (rule.frames) {
	case FrameFrom::none:
		return {};
	case FrameFrom::rip:
		if (auto f = rip())
			frames.push_back(*f);
		break;
	case FrameFrom::rip_trace:
		if (auto f = rip())
			frames.push_back(*f);
		for (auto &f : trace_frames(lines, 0, true))
			frames.push_back(f);
		break;
	case FrameFrom::trace:
		frames = trace_frames(lines, 0, true);
		break;
	case FrameFrom::header:
		if (!header_func.empty())
			frames.push_back(header_func);
		for (auto &f : trace_frames(lines, 0, true))
			frames.push_back(f);
		break;
	case FrameFrom::at: {
		for (size_t i = after_marker(); i < lines.size() && frames.size() < 2; i++) {
			if (starts_stack(lines[i]))
				break;
			if (auto f = at_function(lines[i]))
				frames.push_back(*f);
		}
		for (auto &f : trace_frames(lines, 0, true))
			frames.push_back(f);
		break;
	}
	case FrameFrom::at_first:
		for (size_t i = after_marker(); i < lines.size(); i++)
			if (auto f = at_function(lines[i]))
				return strip_syscall_prefix(*f);
		return {};
	case FrameFrom::after: {
		size_t from = after_marker();
		// "last function: foo" names it on the marker line itself.
		if (from > 0 && from <= lines.size()) {
			auto m = lines[from - 1];
			if (auto p = m.find("last function: "); p != std::string_view::npos) {
				auto rest = m.substr(p + 15);
				size_t j = 0;
				while (j < rest.size() && is_func_char(rest[j]))
					j++;
				return std::string(rest.substr(0, j));
			}
		}
		frames = trace_frames(lines, from, false);
		break;
	}
	case FrameFrom::stall: {
		// The stalled code is what the timer interrupt interrupted: its
		// registers and stack follow the interrupt's own frames.
		size_t from = after_marker();
		bool marked = marker && from < lines.size();
		if (!marked)
			from = 0;
		std::vector<std::string> all;
		for (size_t i = from; i < lines.size(); i++) {
			if (i > from && !marked && starts_stack(lines[i]))
				break;
			if (auto f = rip_function(lines[i])) {
				all.push_back(*f);
				break;
			}
		}
		for (auto &f : trace_frames(lines, from, !marked))
			all.push_back(f);
		return stall_frame(all, skip);
	}
	case FrameFrom::hang:
		return hang_frame(trace_frames(lines, 0, true));
	}
	return first_unskipped(frames, skip);
}

} // namespace luo::host
