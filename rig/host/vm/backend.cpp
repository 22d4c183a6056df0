// SPDX-License-Identifier: GPL-2.0-only
#include "host/vm/backend.hpp"

#include <thread>

#include "host/util/errors.hpp"
#include "host/util/host.hpp"
#include "host/vm/libvirt.hpp"
#include "host/vm/qemu.hpp"

namespace luo::host {

namespace {

class QemuBackend : public Backend {
public:
	QemuBackend(int slots, const std::string &qemu)
		: slots_(slots), qemu_(qemu), host_(local_hostname())
	{
	}
	std::string name() const override { return "qemu"; }
	std::string host() const override { return host_; }
	int slots() const override { return slots_; }
	std::string qemu_version() const override { return luo::host::qemu_version(qemu_); }
	VmResult run(const VmSpec &spec, const Timeouts &t, const EventFn &on_event) override
	{
		return run_vm(spec, t, on_event);
	}

private:
	int slots_;
	std::string qemu_, host_;
};

int default_jobs(int jobs)
{
	return jobs > 0 ? jobs : (int)std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

std::unique_ptr<Backend> qemu_backend(int slots, const std::string &qemu)
{
	return std::make_unique<QemuBackend>(default_jobs(slots), qemu);
}

void check_backend_options(const BackendOptions &o)
{
	if (o.kind == "qemu") {
		if (!o.connect.empty())
			throw SetupError("--connect " + o.connect.front() +
					 " names a libvirt host: add --backend libvirt");
		if (o.answer_seconds != 0)
			throw SetupError("--libvirt-timeout " + std::to_string(o.answer_seconds) +
					 " bounds calls to a libvirt daemon: add --backend libvirt, "
					 "or drop it");
		return;
	}
	if (o.answer_seconds < 0 || o.answer_seconds > 3600)
		throw SetupError("--libvirt-timeout " + std::to_string(o.answer_seconds) +
				 ": expected 1 to 3600 seconds (default " +
				 std::to_string(kDefaultAnswerSeconds) + ")");
	if (o.kind != "libvirt")
		throw SetupError("--backend " + o.kind + ": expected qemu or libvirt");
	for (const auto &c : o.connect)
		parse_connect(c);
	if (o.qemu != "qemu-system-x86_64" && o.qemu.find('/') == std::string::npos)
		throw SetupError("--qemu " + o.qemu + " with --backend libvirt: give the emulator's "
				 "absolute path on the VM host, or leave --qemu out for the host's "
				 "default");
}

std::vector<std::unique_ptr<Backend>> open_backends(const BackendOptions &o)
{
	check_backend_options(o);
	std::vector<std::unique_ptr<Backend>> out;
	if (o.kind == "qemu") {
		out.push_back(qemu_backend(o.jobs, o.qemu));
		return out;
	}
	std::vector<std::string> uris = o.connect;
	if (uris.empty())
		uris.push_back("qemu:///system");
	for (size_t i = 0; i < uris.size(); i++) {
		auto c = parse_connect(uris[i]);
		c.ordinal = (int)i + 1;
		out.push_back(libvirt_backend(c, o));
	}
	return out;
}

} // namespace luo::host
