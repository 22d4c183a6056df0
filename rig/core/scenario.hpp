// SPDX-License-Identifier: GPL-2.0-only
//
// A scenario file, parsed and checked.  The format is documented for kernel
// developers in scenarios/README.md and formally in scenarios/schema.json.
// Every error names file:line:column, the JSON pointer and how to fix it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/case.hpp"
#include "core/json_pos.hpp"
#include "protocol/plan.hpp"

namespace luo::core {

class ScenarioError : public std::runtime_error {
public:
	ScenarioError(std::string file, Pos pos, std::string pointer, std::string message);

	const std::string &file() const { return file_; }
	int line() const { return pos_.line; }
	int column() const { return pos_.column; }
	const std::string &pointer() const { return pointer_; }
	const std::string &message() const { return message_; }

private:
	std::string file_;
	Pos pos_;
	std::string pointer_;
	std::string message_;
};

struct ObjectDecl {
	std::string name;
	protocol::ObjectKind kind{};
	std::string depends_on;
	// An iommufd that maps several memfds: those after depends_on
	// (protocol::ObjectSpec::also_maps).
	std::vector<std::string> also_maps;
	std::uint64_t size = 0;
	std::uint32_t ioas = 1;  // an iommufd's IOAS (protocol::ObjectSpec::ioas)
	bool pinned = false;   // kept out of the order/subset enumeration
	// PRESERVE_FD token: "token" if given, else the position in
	// `objects` (1, 2, ...), so files without one keep their plans.
	std::uint64_t token = 0;
	bool token_set = false;
};

struct SessionDecl {
	std::string name;
	std::vector<std::string> objects;
};

// How to choose preserve or restore orders.
struct OrderSpec {
	enum class Mode {
		all,         // preserve: every permutation; restore: every ordered subset
		all_orders,  // restore only: every permutation, no proper subsets
		declared,    // the declaration order, once
		list,        // the explicit orders in `lists`
		random,      // `count` distinct draws from `seed`
	};
	Mode mode = Mode::all;
	std::vector<std::vector<std::string>> lists;
	unsigned count = 0;
	std::uint64_t seed = 0;
};

struct FinishSpec {
	enum class At { end, never, after };
	At at = At::end;
	// For At::after: FINISH right after each of these many retrieves,
	// strictly increasing.  A scalar "at" is a list of one.
	std::vector<unsigned> after;
	// On a failed FINISH: retrieve what it waits for and retry; or leave
	// it busy; or first close the session and retrieve it again, which
	// must find it as it was (a close cannot finish it, so it tears
	// nothing down and strands nothing), then retrieve and retry.
	enum class OnBusy { retrieve_missing, leave, reopen };
	OnBusy on_busy = OnBusy::retrieve_missing;
};

struct Fault {
	enum class Action {
		close_session,     // C8
		retry_kexec,       // C2
		retrieve_twice,    // C6
		kexec_again,       // second kexec before FINISH
		reuse_token,       // C7 EEXIST
		preserve_twice,    // C7 EBUSY
		retrieve_unknown,  // C7 ENOENT
		retrieve_unwritable,  // C4: a retrieve whose reply is lost is not the user's
		close_object,      // the VMM drops its fd; LUO's reference keeps the file
		verify_fresh,      // after the restored object's check, the same check
				   // on a new object of its kind must fail
		open_device,       // D1: in the new kernel, open the device's node
				   // before its retrieve, and again once LUO lets go
		move_device,       // after the preserves, the VMM moves the VFIO
				   // device to a new page table it does not mark
				   // (P8 with marked HWPTs)
	};
	Action action{};
	std::string session;
	std::string object;
	std::string token_of;
	std::vector<std::string> objects;  // withhold / retrieve-twice targets
	std::string pointer;
};

// An explicit expectation: must agree with the oracle, or the file is wrong.
struct ExplicitExpect {
	std::string case_suffix;   // id after "<name>/", empty = every case with the step
	std::string contract;      // empty = every contract
	protocol::Op op{};
	std::string target;        // object or session name, empty for kexec
	unsigned nth = 1;
	std::string step_text;     // as written, for messages
	Expect expect;
	std::string pointer;
};

struct Scenario {
	std::string file;
	std::string name;
	std::string description;
	std::vector<ObjectDecl> objects;
	std::vector<SessionDecl> sessions;
	OrderSpec preserve;
	OrderSpec restore;
	FinishSpec finish;
	std::vector<Fault> faults;
	std::vector<ExplicitExpect> expects;
	int vfio_devices = 0;
	PosMap positions;

	// Throws ScenarioError at the position of the value at `pointer`, or
	// of its key when the complaint is about the member name itself.
	[[noreturn]] void fail(const std::string &pointer, const std::string &message,
			       bool at_key = false) const;

	const ObjectDecl *object(const std::string &name) const;
	const std::string &session_of(const std::string &object) const;
	std::vector<std::string> object_names(bool include_pinned) const;
};

// `file` is used in messages and, without a "name" field, for the name.
Scenario parse_scenario(const std::string &text, const std::string &file);
Scenario load_scenario(const std::string &path);

} // namespace luo::core
