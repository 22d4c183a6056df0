// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/libvirt.hpp"

#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/host.hpp"
#include "host/util/stacks.hpp"
#include "host/vm/libvirt_watchdog.hpp"
#include "host/vm/libvirt_xml.hpp"
#include "host/vm/watch.hpp"

namespace luo::host {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char *kPool = "luo-rig";

std::string last_error()
{
	const char *m = virGetLastErrorMessage();
	return m ? m : "unknown libvirt error";
}

// libvirt's default handler prints every error to stderr, also the ones the
// rig expects and handles (a domain that is already gone); each error that
// matters is reported once, with what to do, by the code that met it.
void quiet_errors(void *, virErrorPtr)
{
}

// Lifecycle events, keepalives and the close callback need libvirt's event
// loop running; one thread serves every connection of the process.
void start_event_loop()
{
	static std::once_flag once;
	std::call_once(once, [] {
		virSetErrorFunc(nullptr, quiet_errors);
		if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
			throw SetupError("libvirt could not start its event loop: " + last_error());
		std::thread([] {
			for (;;)
				virEventRunDefaultImpl();
		}).detach();
	});
}

// A libvirt call that outlived its own connection waits on something in this
// process: no verdict can come from here on, and waiting would only hang the
// gate.  The run ends as infra, with the stacks that show where it stuck.
[[noreturn]] void stuck_in_the_rig(const std::string &what)
{
	std::fprintf(stderr,
		     "\nluo-rig: %s: luo-rig itself is stuck (a bug in the rig, not in the kernel; "
		     "please report it with the stacks below). Ending the run.\n",
		     what.c_str());
	print_thread_stacks();
	std::fflush(nullptr);
	// No destructors: they would wait on the same lock.  The connections
	// close with the process, and libvirt destroys their domains.
	std::_Exit(kExitInfra);
}

// "luo-rig-HOST-": what every name this host's runs make starts with.
std::string host_prefix()
{
	std::string h;
	for (char c : local_hostname())
		h += std::isalnum((unsigned char)c) || c == '-' ? c : '-';
	return "luo-rig-" + h + "-";
}

// Names unique per run: host, pid and a random word, so two runs on one
// host, or runs from two hosts on one libvirt host, never collide.
std::string run_tag()
{
	static const std::string tag = [] {
		std::random_device rd;
		char word[16];
		std::snprintf(word, sizeof(word), "%04x", rd() & 0xffff);
		return host_prefix() + std::to_string(getpid()) + "-" + word;
	}();
	return tag;
}

// A volume left by a run of this host that was killed outright (its
// domains went with its connection; its volumes did not).
bool orphaned(const std::string &volume)
{
	std::string prefix = host_prefix();
	if (volume.rfind(prefix, 0) != 0)
		return false;
	size_t end = volume.find('-', prefix.size());
	if (end == std::string::npos || end == prefix.size())
		return false;
	std::string pid = volume.substr(prefix.size(), end - prefix.size());
	if (pid.find_first_not_of("0123456789") != std::string::npos)
		return false;
	return kill(std::stoi(pid), 0) < 0 && errno == ESRCH;
}

const char *close_reason(int r)
{
	switch (r) {
	case VIR_CONNECT_CLOSE_REASON_ERROR: return "I/O error";
	case VIR_CONNECT_CLOSE_REASON_EOF: return "the daemon closed it";
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "keepalive timed out";
	default: return "closed";
	}
}

// What a daemon says on its own, from libvirt's event loop: a domain
// stopped, the connection ended.  It lives apart from its Connection and
// goes when libvirt frees the callbacks' opaque, since a callback may still
// run after it was deregistered.
struct Heard {
	std::mutex mu;
	std::string uri, host = "?";
	std::string dead_why;             // empty while the connection lives
	std::map<std::string, int> stopped;  // domain -> VIR_DOMAIN_EVENT_STOPPED_*

	// "?" until the daemon has told it.
	std::string host_name()
	{
		std::lock_guard lock(mu);
		return host;
	}
	void lost(const std::string &why)
	{
		std::lock_guard lock(mu);
		// The watchdog's shutdown closes it too: the first reason is the news.
		if (dead_why.empty())
			dead_why = why;
	}
	static void *opaque(const std::shared_ptr<Heard> &h) { return new std::shared_ptr<Heard>(h); }
	static Heard &of(void *opaque) { return **static_cast<std::shared_ptr<Heard> *>(opaque); }
	static void free_opaque(void *opaque) { delete static_cast<std::shared_ptr<Heard> *>(opaque); }
};

// One connection to one libvirt host, shared by the slots that use it.
class Connection {
public:
	Connection(const ConnectSpec &spec, const BackendOptions &o)
		: uri_(spec.uri), tag_(run_tag() + "-c" + std::to_string(spec.ordinal)),
		  heard_(std::make_shared<Heard>()),
		  watch_(std::chrono::seconds(o.answer_seconds > 0 ? o.answer_seconds
								  : kDefaultAnswerSeconds),
			 [h = heard_](const std::string &what) {
				 std::string host = h->host_name();
				 h->lost("the libvirt daemon behind " + h->uri +
					 (host == "?" ? "" : " on " + host) + " stopped answering: " +
					 what + "; check it with 'virsh -c " + h->uri +
					 " list', restart libvirtd if it hangs");
			 },
			 [](const std::string &what) { stuck_in_the_rig(what); })
	{
		start_event_loop();
		host_ = "?";
		heard_->uri = uri_;
		open();
		try {
			{
				auto g = guard("virConnectGetHostname");
				if (char *h = virConnectGetHostname(conn_)) {
					std::lock_guard lock(heard_->mu);
					heard_->host = h;
					host_ = h;
					free(h);
				}
			}
			// Two connections may reach one host (or one daemon): the
			// report tells them apart by their place on the command line.
			label_ = host_ + " (" + uri_ + " #" + std::to_string(spec.ordinal) + ")";
			check_capabilities(o);
			slots_ = spec.slots;
			if (slots_ <= 0)
				slots_ = o.jobs;
			if (slots_ <= 0) {
				auto g = guard("virNodeGetInfo");
				virNodeInfo info{};
				slots_ = virNodeGetInfo(conn_, &info) == 0 && info.cpus > 0 ? (int)info.cpus : 1;
			}
			open_pool();
		} catch (const SetupError &) {
			// A daemon that hung half-way is not bad input.
			if (watch_.overran())
				throw InfraError(dead_why());
			throw;
		}
		if (watch_.overran())
			throw InfraError(dead_why());
	}

	~Connection()
	{
		auto g = guard("closing the connection");
		if (kernel_vol_) {
			if (alive())
				virStorageVolDelete(kernel_vol_, 0);
			virStorageVolFree(kernel_vol_);
		}
		if (pool_)
			virStoragePoolFree(pool_);
		if (lifecycle_ >= 0 && alive())
			virConnectDomainEventDeregisterAny(conn_, lifecycle_);
		virConnectUnregisterCloseCallback(conn_, on_close);
		virConnectClose(conn_);
	}

	// Bounds one call to the daemon (libvirt_watchdog.hpp).
	DaemonWatchdog::Call guard(std::string what) const
	{
		return DaemonWatchdog::Call(watch_, std::move(what));
	}

	virConnectPtr get() const { return conn_; }
	const std::string &uri() const { return uri_; }
	const std::string &host() const { return host_; }
	const std::string &label() const { return label_; }
	// Prefix of every volume and domain name of this connection in this run.
	const std::string &tag() const { return tag_; }
	int slots() const { return slots_; }
	const std::string &emulator() const { return emulator_; }

	// "QEMU 10.0.2, libvirt 11.3.0 on HOST"
	std::string versions() const
	{
		unsigned long hv = 0, lib = 0;
		auto g = guard("virConnectGetVersion");
		virConnectGetVersion(conn_, &hv);
		virConnectGetLibVersion(conn_, &lib);
		auto dotted = [](unsigned long v) {
			return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." +
			       std::to_string(v % 1000);
		};
		return "QEMU " + dotted(hv) + ", libvirt " + dotted(lib) + " on " + host_;
	}

	bool alive() const
	{
		{
			std::lock_guard lock(heard_->mu);
			if (!heard_->dead_why.empty())
				return false;
		}
		return virConnectIsAlive(conn_) == 1;
	}

	std::string dead_why() const
	{
		std::lock_guard lock(heard_->mu);
		return heard_->dead_why.empty() ? std::string("the connection is not alive")
						: heard_->dead_why;
	}

	// The lifecycle event that ended the domain, if it came: a
	// VIR_DOMAIN_EVENT_STOPPED_* detail.
	std::optional<int> stop_detail(const std::string &domain) const
	{
		std::lock_guard lock(heard_->mu);
		auto it = heard_->stopped.find(domain);
		if (it == heard_->stopped.end())
			return std::nullopt;
		return it->second;
	}

	// The kernel goes to the host once per run, whatever the number of VMs.
	std::string kernel_path(const fs::path &kernel)
	{
		std::lock_guard lock(upload_mu_);
		if (!kernel_vol_)
			kernel_vol_ = upload(kernel, tag_ + "-bzImage");
		return volume_path(kernel_vol_);
	}

	virStorageVolPtr upload(const fs::path &file, const std::string &name)
	{
		std::error_code ec;
		auto size = fs::file_size(file, ec);
		if (ec)
			throw SetupError(file.string() + ": " + ec.message());
		virStorageVolPtr vol = nullptr;
		{
			auto g = guard("virStorageVolCreateXML " + name);
			vol = virStorageVolCreateXML(pool_, volume_xml(name, size).c_str(), 0);
		}
		if (!vol)
			throw InfraError("libvirt " + uri_ + ": cannot create volume " + name + ": " +
					 last_error());
		// Each piece of the upload is a call of its own: a slow link
		// is not a hung daemon.
		virStreamPtr st = virStreamNew(conn_, 0);
		bool ok = false;
		if (st) {
			auto g = guard("virStorageVolUpload " + name);
			ok = virStorageVolUpload(vol, st, 0, size, 0) == 0;
		}
		std::ifstream in(file, std::ios::binary);
		std::vector<char> buf(1 << 20);
		while (ok && in) {
			in.read(buf.data(), buf.size());
			std::streamsize n = in.gcount(), sent = 0;
			while (ok && sent < n) {
				auto g = guard("virStreamSend to " + name);
				int r = virStreamSend(st, buf.data() + sent, n - sent);
				ok = r >= 0;
				sent += r > 0 ? r : 0;
			}
		}
		if (ok) {
			auto g = guard("virStreamFinish of " + name);
			ok = virStreamFinish(st) == 0;
		}
		std::string why = ok ? "" : last_error();
		if (st) {
			auto g = guard("virStreamAbort of " + name);
			if (!ok)
				virStreamAbort(st);
			virStreamFree(st);
		}
		if (!ok) {
			auto g = guard("virStorageVolDelete " + name);
			if (alive())
				virStorageVolDelete(vol, 0);
			virStorageVolFree(vol);
			throw InfraError("libvirt " + uri_ + ": uploading " + file.string() + " as " + name +
					 " failed: " + why);
		}
		return vol;
	}

	std::string volume_path(virStorageVolPtr vol)
	{
		auto g = guard("virStorageVolGetPath");
		char *p = virStorageVolGetPath(vol);
		if (!p)
			throw InfraError("libvirt: a volume without a path: " + last_error());
		std::string s = p;
		free(p);
		return s;
	}

private:
	static void on_close(virConnectPtr, int reason, void *opaque)
	{
		Heard &h = Heard::of(opaque);
		h.lost("the libvirt connection " + h.uri + " to " + h.host_name() + " was lost (" +
		       close_reason(reason) + ")");
	}

	static int on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void *opaque)
	{
		if (event != VIR_DOMAIN_EVENT_STOPPED)
			return 0;
		Heard &h = Heard::of(opaque);
		const char *n = virDomainGetName(dom);
		std::lock_guard lock(h.mu);
		if (n)
			h.stopped[n] = detail;
		return 0;
	}

	void open()
	{
		// Opens are one at a time in the process, so that the sockets
		// that appear while one runs are its own.
		static std::mutex opening;
		std::lock_guard lock(opening);
		watch_.opening();
		{
			auto g = guard("opening the connection");
			conn_ = virConnectOpenAuth(uri_.c_str(), virConnectAuthPtrDefault, 0);
		}
		if (!conn_ && watch_.overran())
			throw InfraError(dead_why());
		if (!conn_)
			throw SetupError("--connect " + uri_ + ": cannot connect (" + last_error() +
					 "). Is the daemon running there (libvirtd -d, or ci/setup's "
					 "start_libvirt), and is the URI right (qemu:///system, "
					 "qemu+ssh://HOST/system)?");
		watch_.opened();
		virConnectSetKeepAlive(conn_, 5, 3);
		virConnectRegisterCloseCallback(conn_, on_close, Heard::opaque(heard_), Heard::free_opaque);
		auto g = guard("virConnectDomainEventRegisterAny");
		lifecycle_ = virConnectDomainEventRegisterAny(
			conn_, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
			VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), Heard::opaque(heard_), Heard::free_opaque);
	}

	void check_capabilities(const BackendOptions &o)
	{
		bool kvm = o.accel == Accel::kvm;
		const char *emulator = o.qemu.find('/') != std::string::npos ? o.qemu.c_str() : nullptr;
		char *caps = nullptr;
		{
			auto g = guard("virConnectGetDomainCapabilities");
			caps = virConnectGetDomainCapabilities(conn_, emulator, "x86_64", "q35",
							       kvm ? "kvm" : "qemu", 0);
		}
		if (!caps)
			throw SetupError("--connect " + uri_ + ": " + host_ + " cannot run a q35 x86_64 " +
					 (kvm ? "KVM" : "TCG") + " domain" +
					 (emulator ? std::string(" with ") + emulator : std::string()) +
					 " (" + last_error() + "); install qemu-system-x86 there" +
					 (kvm ? ", or use --accel tcg" : ""));
		std::string c = caps;
		free(caps);
		auto at = c.find("<path>"), end = c.find("</path>");
		if (at != std::string::npos && end != std::string::npos)
			emulator_ = c.substr(at + 6, end - at - 6);
		if (emulator)
			emulator_ = emulator;
		// The VFIO cases need an emulated Intel IOMMU.
		auto iommu = c.find("<iommu supported=");
		if (iommu != std::string::npos) {
			auto close = c.find("</iommu>", iommu);
			std::string part = c.substr(iommu, close == std::string::npos ? 200 : close - iommu);
			if (part.find("'yes'") == std::string::npos || part.find(">intel<") == std::string::npos)
				throw SetupError("--connect " + uri_ + ": " + host_ +
						 "'s libvirt offers no intel IOMMU model for q35, which "
						 "the VFIO cases need");
		}
	}

	// A directory pool of the rig's own on the host, shared by runs; each
	// run's volumes carry its tag and go when it ends.
	void open_pool()
	{
		auto g = guard("setting up the storage pool " + std::string(kPool));
		pool_ = virStoragePoolLookupByName(conn_, kPool);
		if (!pool_) {
			char *u = virConnectGetURI(conn_);
			std::string uri = u ? u : uri_;
			free(u);
			std::string dir = uri.find("/session") != std::string::npos
						  ? "/var/tmp/luo-rig-images"
						  : "/var/lib/libvirt/images/luo-rig";
			pool_ = virStoragePoolCreateXML(conn_, pool_xml(kPool, dir).c_str(),
							VIR_STORAGE_POOL_CREATE_WITH_BUILD);
			if (!pool_) // another run made it in the meantime
				pool_ = virStoragePoolLookupByName(conn_, kPool);
			if (!pool_)
				throw SetupError("--connect " + uri_ + ": cannot create the storage pool " +
						 kPool + " at " + dir + " on " + host_ + ": " + last_error());
		}
		if (virStoragePoolIsActive(pool_) != 1 && virStoragePoolCreate(pool_, 0) < 0)
			throw SetupError("--connect " + uri_ + ": the storage pool " + std::string(kPool) +
					 " on " + host_ + " is inactive and does not start: " + last_error());
		virStoragePoolRefresh(pool_, 0);
		virStorageVolPtr *vols = nullptr;
		int n = virStoragePoolListAllVolumes(pool_, &vols, 0);
		for (int i = 0; i < n; i++) {
			const char *name = virStorageVolGetName(vols[i]);
			if (name && orphaned(name))
				virStorageVolDelete(vols[i], 0);
			virStorageVolFree(vols[i]);
		}
		free(vols);
	}

	std::string uri_, tag_, host_, label_, emulator_;
	virConnectPtr conn_ = nullptr;
	virStoragePoolPtr pool_ = nullptr;
	virStorageVolPtr kernel_vol_ = nullptr;
	int lifecycle_ = -1;
	int slots_ = 1;
	std::mutex upload_mu_;
	std::shared_ptr<Heard> heard_;
	// Last: its thread may still report while the members above exist.
	mutable DaemonWatchdog watch_;
};

// One transient domain, from creation (paused, so the consoles are open
// before the guest prints its first byte) to destruction on every path out.
class Domain : public Machine {
public:
	Domain(Connection &c, const VmSpec &spec) : c_(c), spec_(spec) {}

	// Apart from the constructor, so that the destructor cleans up
	// whatever a failure half-way leaves.
	void start()
	{
		name_ = c_.tag() + "-" + spec_.workdir.filename().string();
		initrd_ = c_.upload(spec_.initrd, name_ + ".cpio");
		DomainXml d;
		d.name = name_;
		d.spec = spec_;
		d.emulator = c_.emulator();
		d.kernel = c_.kernel_path(spec_.kernel);
		d.initrd = c_.volume_path(initrd_);
		d.owner = local_hostname() + ":" + std::to_string(getpid());
		std::string xml = domain_xml(d);
		write_file_atomic(spec_.workdir / "domain.xml", xml);
		// AUTODESTROY: if this process dies in any way, its connection
		// closes and libvirt destroys the domain.
		{
			auto g = c_.guard("virDomainCreateXML " + name_);
			dom_ = virDomainCreateXML(c_.get(), xml.c_str(),
						  VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);
		}
		if (!dom_)
			throw InfraError("libvirt " + c_.uri() + " on " + c_.host() +
					 ": the domain did not start: " + last_error() +
					 " (its XML: " + (spec_.workdir / "domain.xml").string() + ")");
		const char *devs[2] = {"serial0", "serial1"};
		const char *files[2] = {"console.log", "events.log"};
		for (int i = 0; i < 2; i++) {
			out_[i].open(spec_.workdir / files[i], std::ios::binary | std::ios::trunc);
			st_[i] = virStreamNew(c_.get(), VIR_STREAM_NONBLOCK);
			auto g = c_.guard(std::string("virDomainOpenConsole ") + devs[i] + " of " + name_);
			if (!st_[i] || virDomainOpenConsole(dom_, devs[i], st_[i], VIR_DOMAIN_CONSOLE_FORCE) < 0)
				throw InfraError("libvirt " + c_.uri() + ": cannot open " + devs[i] + " of " +
						 name_ + ": " + last_error());
		}
		auto g = c_.guard("virDomainResume " + name_);
		if (virDomainResume(dom_) < 0)
			throw InfraError("libvirt " + c_.uri() + ": " + name_ + " does not resume: " +
					 last_error());
	}

	~Domain() override
	{
		auto g = c_.guard("tearing down " + name_);
		for (auto *st : st_) {
			if (st) {
				virStreamAbort(st);
				virStreamFree(st);
			}
		}
		if (dom_) {
			if (c_.alive() && virDomainIsActive(dom_) == 1)
				virDomainDestroy(dom_);
			virDomainFree(dom_);
		}
		if (initrd_) {
			if (c_.alive())
				virStorageVolDelete(initrd_, 0);
			virStorageVolFree(initrd_);
		}
	}

	void pump() override
	{
		char buf[16384];
		for (int i = 0; i < 2; i++) {
			while (st_[i] && !eof_[i]) {
				int n = virStreamRecv(st_[i], buf, sizeof(buf));
				if (n > 0) {
					out_[i].write(buf, n);
					continue;
				}
				if (n == 0 || n == -1)
					eof_[i] = true;
				if (n == -1)
					stream_failed(i);
				break;                   // -2: nothing more for now
			}
			out_[i].flush();
		}
	}

	bool running() override
	{
		if (!c_.alive() || c_.stop_detail(name_))
			return false;
		// Events can be missed (a daemon restart): ask now and then.
		auto now = clock_type::now();
		if (now - last_poll_ > std::chrono::seconds(1)) {
			last_poll_ = now;
			auto g = c_.guard("virDomainIsActive " + name_);
			return virDomainIsActive(dom_) == 1;
		}
		return true;
	}

	void stop() override
	{
		stopped_ = true;
		auto g = c_.guard("virDomainDestroy " + name_);
		if (c_.alive())
			virDomainDestroy(dom_);
	}

	End ended() override
	{
		End e;
		// What the guest printed last (a splat, "done") may still be on
		// its way: read until both streams end or a few seconds pass.
		auto until = clock_type::now() + std::chrono::seconds(5);
		while ((!eof_[0] || !eof_[1]) && c_.alive() && clock_type::now() < until) {
			pump();
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		}
		if (!c_.alive()) {
			e.connection_lost = true;
			e.why = c_.dead_why() + " while " + name_ +
				" ran (the domain may still run there until the daemon comes back: "
				"virsh destroy " + name_ + ")";
			return e;
		}
		auto detail = c_.stop_detail(name_);
		for (int i = 0; i < 40 && !detail; i++) {
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
			detail = c_.stop_detail(name_);
		}
		std::string log = "/var/log/libvirt/qemu/" + name_ + ".log on " + c_.host();
		if (detail && *detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN) {
			e.clean = true;
		} else if (detail && *detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED && stopped_) {
			e.clean = true;
		} else if (!detail) {
			e.why = "libvirt domain " + name_ + " on " + c_.host() +
				" ended without a lifecycle event; its QEMU log is " + log;
		} else {
			const char *what = *detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED  ? "crashed"
					   : *detail == VIR_DOMAIN_EVENT_STOPPED_FAILED     ? "failed"
					   : *detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED  ? "was destroyed from outside the run"
											    : "stopped";
			e.why = "the QEMU of libvirt domain " + name_ + " on " + c_.host() + " " + what +
				"; its log is " + log;
		}
		return e;
	}

	std::string host() const override { return c_.label(); }

	// Why the guest's output was lost on the way, empty when it was not.
	const std::string &lost_output() const { return lost_; }

private:
	// A stream error is the end of the output, not of the VM: when the
	// domain still runs, what it printed from then on is gone.  A domain
	// that ended (or that the rig destroyed, or a connection that died,
	// judged elsewhere) takes its streams with it; QEMU's exit may reach
	// the stream before the daemon marks the domain stopped, so that is
	// given a moment.
	void stream_failed(int i)
	{
		std::string err = last_error();
		auto until = clock_type::now() + std::chrono::seconds(2);
		for (;;) {
			if (stopped_ || !c_.alive() || c_.stop_detail(name_))
				return;
			{
				auto g = c_.guard("virDomainIsActive " + name_);
				if (virDomainIsActive(dom_) != 1)
					return;
			}
			if (clock_type::now() > until)
				break;
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
		}
		const char *devs[2] = {"serial0 (console.log)", "serial1 (events.log)"};
		if (lost_.empty())
			lost_ = std::string("libvirt lost the VM's output: the console stream of ") +
				devs[i] + " of " + name_ + " on " + c_.host() +
				" failed while the domain ran: " + err +
				"; nothing the guest printed after that reached the rig, so the VM's "
				"outcome cannot be judged";
	}

	Connection &c_;
	const VmSpec &spec_;
	std::string name_;
	virStorageVolPtr initrd_ = nullptr;
	virDomainPtr dom_ = nullptr;
	virStreamPtr st_[2] = {nullptr, nullptr};
	std::ofstream out_[2];
	bool eof_[2] = {false, false};
	std::string lost_;
	bool stopped_ = false;
	clock_type::time_point last_poll_ = clock_type::now();
};

class LibvirtBackend : public Backend {
public:
	LibvirtBackend(const ConnectSpec &spec, const BackendOptions &o) : conn_(spec, o) {}

	std::string name() const override { return "libvirt " + conn_.uri(); }
	std::string host() const override { return conn_.label(); }
	int slots() const override { return conn_.slots(); }
	std::string qemu_version() const override { return conn_.versions(); }
	bool alive() const override { return conn_.alive(); }

	VmResult run(const VmSpec &spec, const Timeouts &t, const EventFn &on_event) override
	{
		fs::create_directories(spec.workdir);
		for (const char *f : {"console.log", "events.log", "qemu.log"})
			fs::remove(spec.workdir / f);
		if (!conn_.alive())
			return lost();
		try {
			Domain d(conn_, spec);
			d.start();
			VmResult r = watch_vm(spec, t, d, on_event);
			note_lost_output(r, d.lost_output());
			return r;
		} catch (const InfraError &) {
			// Setting the domain up failed because the host went away.
			if (conn_.alive())
				throw;
			return lost();
		}
	}

private:
	VmResult lost() const
	{
		VmResult r;
		r.status = VmResult::Status::infra;
		r.connection_lost = true;
		r.why = conn_.dead_why();
		r.host = conn_.label();
		return r;
	}

	Connection conn_;
};

} // namespace

void note_lost_output(VmResult &r, const std::string &why)
{
	if (why.empty() || r.connection_lost || r.status == VmResult::Status::interrupted)
		return;
	r.why = why + " (the watch had: " + to_string(r.status) +
		(r.why.empty() ? "" : ", " + r.why) + ")";
	r.status = VmResult::Status::infra;
	r.output_lost = why;
}

ConnectSpec parse_connect(const std::string &arg)
{
	ConnectSpec c;
	c.uri = arg;
	auto eq = arg.rfind('=');
	if (eq != std::string::npos && eq + 1 < arg.size() &&
	    arg.find_first_not_of("0123456789", eq + 1) == std::string::npos) {
		c.uri = arg.substr(0, eq);
		c.slots = std::atoi(arg.c_str() + eq + 1);
		if (c.slots < 1 || c.slots > 256)
			throw SetupError("--connect " + arg + ": SLOTS must be 1 to 256");
	}
	if (c.uri.empty() || c.uri.find(':') == std::string::npos)
		throw SetupError("--connect " + arg + ": expected a libvirt URI such as qemu:///system "
			         "or qemu+ssh://HOST/system, optionally followed by =SLOTS");
	return c;
}

std::unique_ptr<Backend> libvirt_backend(const ConnectSpec &c, const BackendOptions &o)
{
	// A daemon that hung while the connection was set up is infra
	// trouble: tried once more, then named.
	try {
		return std::make_unique<LibvirtBackend>(c, o);
	} catch (const InfraError &e) {
		std::fprintf(stderr, "luo-rig: --connect %s: %s; connecting once more\n", c.uri.c_str(),
			     e.what());
	}
	try {
		return std::make_unique<LibvirtBackend>(c, o);
	} catch (const InfraError &e) {
		throw InfraError("--connect " + c.uri + ": " + e.what() + " (twice in a row)");
	}
}

} // namespace luo::host
