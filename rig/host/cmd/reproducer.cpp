// SPDX-License-Identifier: GPL-2.0-only
#include "host/cmd/reproducer.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "host/image/recipe.hpp"
#include "host/kernel/fault_knobs.hpp"
#include "host/kernel/hash.hpp"
#include "host/kernel/kernel_source.hpp"
#include "host/kernel/uapi_headers.hpp"
#include "host/run/console.hpp"
#include "host/run/contracts.hpp"
#include "host/util/atomic_file.hpp"
#include "host/util/errors.hpp"
#include "host/util/paths.hpp"
#include "host/util/process.hpp"
#include "host/vm/accel.hpp"
#include "host/vm/calibration.hpp"
#include "host/vm/qemu.hpp"
#include "guest/ioas_layout.hpp"
#include "guest/vcpu_program.hpp"

namespace luo::host {

namespace fs = std::filesystem;
using protocol::ObjectKind;
using protocol::Op;

namespace {

// The contract's kernel parameters, beside repro.c, for boot_reproducer().
constexpr const char *kKernelArgs = "kernel-args";

// The kinds runtime.c can make: every other one is refused.
const ObjectKind kReproducible[] = {ObjectKind::memfd, ObjectKind::kvm_vm, ObjectKind::guest_memfd,
				     ObjectKind::iommufd, ObjectKind::unsupported};

// "session-create" -> "OP_SESSION_CREATE": C names from the protocol's own.
std::string c_enum(const std::string &prefix, const std::string &name)
{
	std::string out = prefix;
	for (char c : name)
		out += c == '-' ? '_' : (char)std::toupper((unsigned char)c);
	return out;
}

std::string c_string(const std::string &s)
{
	std::string out = "\"";
	for (char c : s)
		out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
	return out + "\"";
}

// The enums and op names runtime.c works with, from the protocol's tables.
std::string c_enums()
{
	std::string kinds, ops, names;
	for (auto k : kReproducible)
		kinds += c_enum("K_", protocol::to_string(k)) + ", ";
	for (const auto &op : protocol::op_names()) {
		ops += "\t" + c_enum("OP_", op) + ",\n";
		names += "\t[" + c_enum("OP_", op) + "] = \"" + op + "\",\n";
	}
	return "\nenum repro_kind { " + kinds + "};\nenum repro_op {\n" + ops +
	       "};\nstatic const char *const op_name[] = {\n" + names + "};\n";
}

const char *kTables = R"(enum repro_expect { E_OK, E_ERRNO, E_ANY_ERROR };

struct repro_object {
	const char *name;
	enum repro_kind kind;
	int dep;			/* index of its dependency, or -1 */
	unsigned long long size;
	unsigned int seed;		/* of the data pattern */
	unsigned int ioas;		/* an iommufd's IOAS, made 1, 2, ... */
};

/* A range of a memfd an iommufd maps into one of its IOAS, as luo-rig's VMM does. */
struct repro_mapping {
	int iommufd, memfd;		/* indexes into objects[] */
	unsigned int ioas;
	unsigned long long iova, start, length;
};

struct repro_step {
	unsigned int stage;		/* 1: first kernel, 2: after one kexec... */
	enum repro_op op;
	const char *session;
	int object;			/* index into objects[], or -1 */
	unsigned long long token;
	enum repro_expect expect;
	int err;			/* with E_ERRNO */
	const char *rule;		/* the contract rule that decides it */
};

/* run-vcpu's guest program for one guest_memfd: its image's non-zero words. */
struct repro_vcpu {
	int object;			/* index into objects[], or -1 */
	unsigned int size, cr3, entry, results, pages, nr_words;
	const unsigned int (*words)[2];	/* { offset, value } */
};
)";

// Where each iommufd maps the memfds it depends on: the mock VMM's own layout
// (guest/ioas_layout.hpp), so that the reproducer maps and checks the same
// ranges.  One row more than it needs: C has no empty arrays.
std::string mapping_table(const core::Case &c, const std::map<std::string, int> &index)
{
	std::ostringstream rows;
	int n = 0;
	for (const auto &obj : c.objects) {
		if (obj.kind != protocol::ObjectKind::iommufd || obj.depends_on.empty())
			continue;
		std::vector<std::string> files{obj.depends_on};
		files.insert(files.end(), obj.also_maps.begin(), obj.also_maps.end());
		for (unsigned slot = 0; slot < files.size(); slot++) {
			const auto &mem = c.objects[index.at(files[slot])];
			for (const auto &m : guest::ioas_layout(obj.ioas, mem.size, slot)) {
				rows << "\t{ " << index.at(obj.name) << ", " << index.at(files[slot]) << ", "
				     << m.ioas << "U, 0x" << std::hex << m.iova << "ULL, 0x" << m.start
				     << "ULL, 0x" << m.length << std::dec << "ULL },\n";
				n++;
			}
		}
	}
	return "#define NR_MAPPINGS " + std::to_string(n) +
	       "\nstatic const struct repro_mapping mappings[NR_MAPPINGS + 1] = {\n" + rows.str() +
	       "\t{ -1, -1, 0, 0, 0, 0 },\n};\n";
}

// run-vcpu's program for each guest_memfd a step runs it on, as the mock VMM
// builds it (vcpu_program.hpp): the same bytes, not a second copy of them.
std::string vcpu_tables(const core::Case &c, const std::map<std::string, int> &index)
{
	std::ostringstream o, list;
	o << "#define VCPU_GMEM_GPA 0x" << std::hex << guest::vcpu::kGmemGpa << "ULL\n"
	  << "#define VCPU_DONE_PORT 0x" << guest::vcpu::kDonePort << std::dec << "\n";
	int n = 0;
	std::set<std::string> done;
	for (const auto &s : c.steps) {
		auto obj = std::find_if(c.objects.begin(), c.objects.end(),
					[&](const auto &x) { return x.name == s.object; });
		// verify-fresh runs the program on a new guest_memfd too.
		if (obj == c.objects.end() || obj->kind != ObjectKind::guest_memfd ||
		    (s.op != Op::run_vcpu && s.op != Op::verify_fresh) || !done.insert(s.object).second)
			continue;
		auto img = guest::vcpu::build(obj->size);
		std::string name = "vcpu_words_" + std::to_string(n);
		unsigned words = 0;
		o << "static const unsigned int " << name << "[][2] = {\n";
		for (std::size_t at = 0; at + 4 <= img.bytes.size(); at += 4) {
			std::uint32_t w;
			std::memcpy(&w, img.bytes.data() + at, 4);
			if (!w)
				continue;
			o << "\t{ " << at << ", " << w << "U },\n";
			words++;
		}
		o << "};\n";
		list << "\t{ " << index.at(obj->name) << ", " << img.bytes.size() << ", " << img.cr3
		     << ", " << img.entry << ", " << img.results << ", " << img.pages << ", " << words
		     << ", " << name << " },\n";
		n++;
	}
	if (!n)
		list << "\t{ -1, 0, 0, 0, 0, 0, 0, NULL },\n";
	o << "#define NR_VCPUS " << n << "U\nstatic const struct repro_vcpu vcpus[] = {\n"
	  << list.str() << "};\n";
	return o.str();
}

// A positive decimal that fits, or nothing.
std::optional<long> positive(const std::string &s)
{
	if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
		return std::nullopt;
	long v = std::stol(s);
	return v > 0 ? std::optional<long>(v) : std::nullopt;
}

// What repro.c says of itself, for boot_reproducer.
constexpr const char *kFailNthDefine = "#define FAIL_NTH_STEP ";

} // namespace

FailNthAt parse_fail_nth_at(const std::string &spec, const core::Case &c)
{
	auto colon = spec.find(':');
	auto step = positive(spec.substr(0, colon));
	auto n = colon == std::string::npos ? std::nullopt : positive(spec.substr(colon + 1));
	if (!step || !n)
		throw SetupError("--fail-nth '" + spec + "': give STEP:N, the step and the N of "
				 "the rig's message (\"step 4 preserve ...: observed fail-nth 3: "
				 "...\" is --fail-nth 4:3)");
	if (*step > (long)c.steps.size())
		throw SetupError("--fail-nth " + spec + ": " + c.id + " has " +
				 std::to_string(c.steps.size()) + " steps; give one of 1-" +
				 std::to_string(c.steps.size()));
	Op op = c.steps[*step - 1].op;
	if (!protocol::fail_nth_arms(op)) {
		std::string armed;
		for (size_t i = 0; i < c.steps.size(); i++)
			if (protocol::fail_nth_arms(c.steps[i].op))
				armed += (armed.empty() ? "" : ", ") + std::to_string(i + 1) + " " +
					 protocol::to_string(c.steps[i].op);
		throw SetupError("--fail-nth " + spec + ": step " + std::to_string(*step) + " is " +
				 protocol::to_string(op) + ", whose call fail-nth does not arm; "
				 "the steps it arms in " + c.id + ": " + armed);
	}
	return {static_cast<int>(*step), static_cast<unsigned>(*n)};
}

std::string reproducer_source(const core::Case &c, const std::string &contract,
			      const std::string &fault, const std::string &runtime,
			      FailNthAt fail_nth, bool race)
{
	std::map<std::string, int> index;
	for (size_t i = 0; i < c.objects.size(); i++)
		index[c.objects[i].name] = (int)i;
	std::ostringstream o;
	o << "// SPDX-License-Identifier: GPL-2.0-only\n"
	     "/*\n"
	     " * Reproducer of luo-rig case " << c.id << "\n"
	     " * (contract " << contract << ")"
	  << (fault.empty() ? "" : ", kernel booted with luo_fault=" + fault) << ".\n"
	  << (fail_nth.step ? " * Step " + std::to_string(fail_nth.step) + " runs with fail-nth " +
				      std::to_string(fail_nth.n) + ", then again unarmed.\n"
			    : std::string())
	  << (race ? " * Helper threads race each Live Update call on the guest_memfd and\n"
		     " * iommufd objects.\n"
		   : "")
	  << " * Written by `luo-rig reproducer`; build and run: see README.\n"
	     " */\n"
	     "#define _GNU_SOURCE\n#include <errno.h>\n#include <stddef.h>\n\n"
	     "#define CASE_ID " << c_string(c.id) << "\n"
	     "#define NR_OBJECTS " << c.objects.size() << "\n"
	     "#define NR_STEPS " << c.steps.size() << "\n"
	  << kFailNthDefine << fail_nth.step << "\n"
	  << "#define FAIL_NTH_N " << fail_nth.n << "U\n"
	  << "#define RACE " << (race ? 1 : 0) << "\n"
	  << c_enums() << kTables << "\nstatic const struct repro_object objects[NR_OBJECTS] = {\n";
	for (const auto &obj : c.objects) {
		if (std::find(std::begin(kReproducible), std::end(kReproducible), obj.kind) ==
		    std::end(kReproducible))
			throw SetupError("reproducer " + c.id + ": object '" + obj.name + "' is a " +
					 protocol::to_string(obj.kind) +
					 ", which the standalone reproducer cannot create (it needs a "
					 "device bound to vfio-pci); `luo-rig minimize` may find a "
					 "smaller case without it");
		int dep = obj.depends_on.empty() ? -1 : index.at(obj.depends_on);
		o << "\t{ " << c_string(obj.name) << ", " << c_enum("K_", protocol::to_string(obj.kind))
		  << ", " << dep << ", " << obj.size << "ULL, " << obj.seed << "U, "
		  << obj.ioas << "U },\n";
	}
	o << "};\n\n" << mapping_table(c, index) << "\nstatic const struct repro_step steps[NR_STEPS] = {\n";
	unsigned stage = 1;
	for (const auto &s : c.steps) {
		const char *expect = s.expect.kind == core::Expect::Kind::ok	      ? "E_OK"
				     : s.expect.kind == core::Expect::Kind::error ? "E_ERRNO"
										  : "E_ANY_ERROR";
		int obj = s.object.empty() || !index.count(s.object) ? -1 : index.at(s.object);
		o << "\t{ " << stage << ", " << c_enum("OP_", protocol::to_string(s.op)) << ", "
		  << (s.session.empty() ? "NULL" : c_string(s.session)) << ", " << obj << ", "
		  << s.token << "ULL, " << expect << ", "
		  << (s.expect.kind == core::Expect::Kind::error ? s.expect.err : "0") << ", "
		  << c_string(s.expect.rule.empty() ? "-" : s.expect.rule) << " },\n";
		if (s.op == Op::kexec && s.expect.kind == core::Expect::Kind::ok)
			stage++;
	}
	o << "};\n\n" << vcpu_tables(c, index) << "\n" << runtime;
	return o.str();
}

fs::path write_reproducer(const ReproConfig &cfg, const fs::path &dir, const std::string &fail_nth,
			  bool race)
{
	core::Case c = resolve_case(cfg.run, cfg.id);
	const std::string &id = c.id;
	FailNthAt at = fail_nth.empty() ? FailNthAt{} : parse_fail_nth_at(fail_nth, c);
	// One mode at a time, as luo-rig run's --inject takes one.
	if (race && at.step)
		throw SetupError("reproducer " + id + ": --race and --fail-nth together; a run "
				 "finds a bug under one --inject mode, reproduce it under that one");
	if (race && std::none_of(c.objects.begin(), c.objects.end(), [](const auto &o) {
		    return o.kind == protocol::ObjectKind::guest_memfd ||
			   o.kind == protocol::ObjectKind::iommufd;
	    }))
		throw SetupError("reproducer " + id + " --race: the case holds no guest-memfd or "
				 "iommufd, the objects the racers change; drop --race");
	// A contract the kernel follows only when told: the reproducer's
	// kernel must be told too, or its expectations are another contract's.
	// failslab cannot mark a merged slab cache, as for the rig's own runs.
	const core::Contract contract = resolve_contract(cfg.run.contract);
	std::string contract_args = contract.kernel_cmdline;
	if (contract.guest_memfd.preserve_freezes)
		for (const auto &obj : c.objects)
			if (obj.kind == protocol::ObjectKind::guest_memfd)
				throw SetupError("reproducer " + id + ": contract " + cfg.run.contract +
						 " freezes guest_memfd '" + obj.name + "' at PRESERVE_FD, "
						 "which the standalone reproducer does not check; run the "
						 "case in the rig (`luo-rig repro`)");
	// Marked HWPTs: the reproducer attaches devices to an IOAS, marks
	// nothing and seals nothing, so such a kernel refuses nothing it
	// checks and carries no HWPT; its verdicts would be another
	// contract's.
	if (contract.iommufd.preserve_marked_hwpts)
		for (const auto &obj : c.objects)
			if (obj.kind == protocol::ObjectKind::vfio_cdev)
				throw SetupError("reproducer " + id + ": contract " + cfg.run.contract +
						 " preserves only the HWPTs userspace marks, which the "
						 "standalone reproducer does not do for vfio-cdev '" +
						 obj.name + "'; run the case in the rig (`luo-rig repro`)");
	if (at.step)
		contract_args += (contract_args.empty() ? "" : " ") + std::string("slab_nomerge");
	auto knobs = parse_fault_list(cfg.run.fault);
	std::string fault;
	for (const auto &k : knobs)
		fault += (fault.empty() ? "" : ",") + k;
	std::string src = reproducer_source(
		c, cfg.run.contract, fault,
		read_file(source_root() / "rig" / "reproducer" / "runtime.c"), at, race);
	fs::create_directories(dir);
	write_file_atomic(dir / "repro.c", src);
	std::string boot = "liveupdate=on retain_initrd" +
			   (fault.empty() ? std::string() : " luo_fault=" + fault) +
			   (contract_args.empty() ? std::string() : " " + contract_args);
	if (contract_args.empty())
		fs::remove(dir / kKernelArgs);
	else
		write_file_atomic(dir / kKernelArgs, contract_args + "\n");
	write_file_atomic(
		dir / "README",
		"Reproducer of " + id + " (contract " + cfg.run.contract + ")\n\n"
		"Build it against the uapi headers of the kernel under test:\n\n"
		"    make -C LINUX O=HDR headers_install INSTALL_HDR_PATH=HDR\n"
		"    gcc -static -O2 -Wall -pthread -I HDR/include repro.c -o repro\n\n"
		"Run it as /init of an initramfs that holds the same kernel at /boot/bzImage,\n"
		"booted with: " + boot + "\n"
		"(or from a shell: ./repro KERNEL INITRD). Each stage runs its steps and kexecs\n"
		"into the next one with the same kernel and initramfs; every step prints its\n"
		"expected and observed result, the last stage a RESULT line (PASS, or FAIL with\n"
		"the first wrong step), and as PID 1 it powers the machine off.\n\n" +
		(at.step ? "Step " + std::to_string(at.step) + " runs with /proc/thread-self/fail-nth = " +
				   std::to_string(at.n) + " around its Live Update call, then again\n"
				   "unarmed if the injected failure failed it. The kernel needs the fault\n"
				   "injection options of kernel-config/debug/55-fault-injection.config.\n\n"
			 : std::string()) +
		(race ? "Each Live Update call runs while helper threads change the case's\n"
			"guest_memfd (its hole pages allocated and punched again) and iommufd\n"
			"(IOAS made and destroyed) objects, and the step says how many changes\n"
			"they made; give the machine two CPUs, or they race only between the\n"
			"call's time slices. Link with -pthread.\n\n"
		      : std::string()) +
		"In luo-rig's VM:  luo-rig shell --reproducer " + dir.string() +
		(fault.empty() ? "" : " --fault " + fault) +
		(at.step ? " --kernel-flavour debug" : "") + (race ? " --vm-cpus 2" : "") + "\n");
	return dir / "repro.c";
}

ReproducerRun boot_reproducer(const fs::path &dir, const KernelOptions &kernel_opts,
			      const std::string &accel_name, const std::string &fault, bool interactive,
			      int cpus)
{
	if (!fs::exists(dir / "repro.c"))
		throw SetupError(dir.string() + "/repro.c: no such file; write it with luo-rig "
						"reproducer ID --out " + dir.string());
	auto knobs = parse_fault_list(fault);
	// Only the debug flavour has fail-nth; a prebuilt --kernel is checked
	// by the reproducer itself, which says so and stops.
	std::string src = read_file(dir / "repro.c");
	auto define = src.find(kFailNthDefine);
	bool armed = define != std::string::npos && src[define + std::strlen(kFailNthDefine)] != '0';
	if (armed && kernel_opts.flavour != "debug" && !kernel_opts.kernel)
		throw SetupError(dir.string() + "/repro.c arms fail-nth, which needs the debug "
				 "flavour's fault injection: add --kernel-flavour debug");
	AccelChoice accel = choose_accel(accel_name);
	KernelArtifact kernel = obtain_kernel(kernel_opts);
	check_fault_knobs(kernel.image, knobs);
	fs::path hdr = uapi_headers(kernel_opts);

	ReproducerRun run;
	run.workdir = dir / "vm";
	fs::create_directories(run.workdir);
	RunOptions o;
	o.log = run.workdir / "build.log";
	fs::remove(o.log);
	if (run_command({"gcc", "-static", "-O2", "-Wall", "-pthread", "-I", (hdr / "include").string(),
			 (dir / "repro.c").string(), "-o", (run.workdir / "repro").string()},
			o) != 0)
		throw SetupError("the reproducer does not build:\n" + tail_of(o.log) +
				 "full log: " + o.log.string());

	write_initramfs(run.workdir / "initrd.cpio",
			load_image("reproducer", {{"kernel", ImageInput::host(kernel.image)},
						  {"repro", ImageInput::host(run.workdir / "repro")}}));
	VmSpec spec;
	spec.accel = accel.accel;
	spec.cpus = cpus;
	spec.kernel = kernel.image;
	spec.initrd = run.workdir / "initrd.cpio";
	spec.workdir = run.workdir;
	spec.interactive = interactive;
	spec.extra_cmdline = calibration_args(spec.accel, spec.kernel);
	if (!knobs.empty())
		spec.extra_cmdline += (spec.extra_cmdline.empty() ? "" : " ") + fault_cmdline(knobs);
	if (fs::exists(dir / kKernelArgs)) {
		std::string args = read_file(dir / kKernelArgs);
		args.erase(args.find_last_not_of("\n") + 1);
		spec.extra_cmdline += (spec.extra_cmdline.empty() ? "" : " ") + args;
	}
	if (interactive) {
		run_interactive(spec);
		return run;
	}
	// The reproducer reports no events: the VM ends when it powers off.
	Timeouts t;
	t.boot = t.stall = 600;
	t.total = 900;
	VmResult vm;
	for (;;) {
		vm = run_vm(spec, t);
		run.console = fs::exists(vm.console_log) ? read_file(vm.console_log) : "";
		if (!reproducer_never_started(vm.status, run.console) || run.infra_retried ||
		    interrupted())
			break;
		std::fprintf(stderr, "luo-rig: the reproducer's VM was lost before it started (%s); "
				     "booting it once more\n", vm.why.c_str());
		run.infra_retried++;
	}
	run.vm_status = to_string(vm.status);
	run.why = vm.why;
	// A splat is the kernel's failure whatever the steps said.
	if (auto findings = classify_console(run.console); !findings.empty())
		run.crash = findings.front().title + ": " + findings.front().text;
	auto at = run.console.rfind("repro: RESULT: ");
	if (at != std::string::npos) {
		run.result = run.console.substr(at, run.console.find('\n', at) - at);
		run.passed = run.result.find("RESULT: PASS") != std::string::npos;
		run.failed = run.result.find("RESULT: FAIL") != std::string::npos;
	} else if (vm.status != VmResult::Status::exited) {
		run.result = (reproducer_never_started(vm.status, run.console)
				      ? "the VM was lost twice before the reproducer started (infra): "
				      : vm.status == VmResult::Status::hang
				      ? "the VM hung before the reproducer's RESULT (the kernel's): "
				      : "the VM was lost before the reproducer's RESULT (infra): ") +
			     vm.why;
	}
	return run;
}

bool reproducer_never_started(VmResult::Status status, const std::string &console)
{
	if (status != VmResult::Status::hang && status != VmResult::Status::infra)
		return false;
	return console.rfind("repro: ", 0) != 0 && console.find("\nrepro: ") == std::string::npos;
}

} // namespace luo::host
