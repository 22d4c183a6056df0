// SPDX-License-Identifier: GPL-2.0-only
//
// KVM when the host can really run guests with it, TCG otherwise.
#pragma once

#include <string>

namespace luo::host {

enum class Accel { kvm, tcg };

struct AccelChoice {
	Accel accel = Accel::tcg;
	std::string reason;   // printed and recorded with every run
};

// `requested` is "auto", "kvm" or "tcg".
AccelChoice choose_accel(const std::string &requested);

// Pure part of the decision, for tests: cpuinfo flags text and whether
// /dev/kvm answered KVM_GET_API_VERSION.
AccelChoice decide_accel(const std::string &requested, const std::string &cpuinfo,
			 bool kvm_device_ok);

const char *to_string(Accel a);

} // namespace luo::host
