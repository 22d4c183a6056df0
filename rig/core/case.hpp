// SPDX-License-Identifier: GPL-2.0-only
//
// A case: one concrete live-update story expanded from a scenario, with the
// outcome the contract demands at every step.  Cases are independent of one
// another, so the planner can pack many of them into one VM and one kexec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/plan.hpp"

namespace luo::core {

struct Expect {
	enum class Kind {
		ok,         // the step must succeed
		error,      // the step must fail with exactly `err`
		any_error,  // the step must fail; the errno is not part of the contract
	};
	Kind kind = Kind::ok;
	std::string err;    // errno name when kind == error
	std::string rule;   // contract rule that decided it ("C4"), for reports
};

// Object names, session names and tokens are local to the case; the planner
// makes them unique inside a VM.
struct CaseObject {
	std::string name;
	protocol::ObjectKind kind{};
	std::string depends_on;
	std::uint64_t size = 0;
	std::uint32_t seed = 0;
	std::uint32_t ioas = 1;  // an iommufd's IOAS (ObjectSpec::ioas)
	std::vector<std::string> also_maps;  // ObjectSpec::also_maps
};

struct CaseStep {
	protocol::Op op{};
	std::string session;
	std::string object;
	std::uint64_t token = 0;
	Expect expect;
};

// True for a preserve the oracle expects to succeed under P7 or P8: its
// "ok" also covers the probe the VMM runs around the call, so the plan
// tells the guest to run it (protocol::Step::probe).
bool runs_probe(const CaseStep &s);

struct Case {
	std::string id;        // stable: same scenario file, same id
	std::string scenario;  // scenario name
	std::string contract;  // "agreed" or "strict"
	std::vector<CaseObject> objects;
	std::vector<CaseStep> steps;

	// Number of kexec steps expected to succeed (boot transitions).
	int boots() const;
	// True when some kexec step of the case is expected to be refused: such a
	// case runs alone before the batch's shared kexec.
	bool refuses_kexec() const;
	// Number of VFIO devices the case needs in its VM.
	int vfio_devices() const;
	// True when, by its contract, the case leaves nothing in LUO's hands
	// once its last step has run: one kexec, and every session it took
	// through it retrieved and finished.  Only such a case may be followed
	// by another kexec round in the same VM: whatever it left behind would
	// otherwise ride along into the next round.
	bool chainable() const;
};

} // namespace luo::core
