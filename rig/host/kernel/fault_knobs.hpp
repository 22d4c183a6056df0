// SPDX-License-Identifier: GPL-2.0-only
//
// Fault knobs (`luo_fault=`) of the kernel under test.  The knob names come
// from the kernel image itself (a `luo_fault_knobs=a,b,c` string in its
// rodata), never from a list in the rig, so a developer's tree with knobs of
// its own works unchanged; and a run whose kernel did not confirm a knob on
// its console is a setup error, never a green run without the fault.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace luo::host {

// "a,b" -> {"a", "b"}; throws SetupError on an empty or repeated name.
std::vector<std::string> parse_fault_list(const std::string &list);

// "luo_fault=a,b" for the kernel command line.
std::string fault_cmdline(const std::vector<std::string> &knobs);

// The uncompressed kernel (vmlinux) inside a bzImage; throws SetupError when
// the file is not a bzImage or its payload cannot be decompressed.
std::string bzimage_payload(const std::filesystem::path &bzimage);

// Knobs named by the `luo_fault_knobs=` string of an uncompressed kernel;
// nullopt when the kernel has none.
std::optional<std::vector<std::string>> knob_catalogue(const std::string &vmlinux);

// Throws SetupError, listing the kernel's own knobs, unless every requested
// knob is one of them.  Nothing is read when `knobs` is empty.
void check_fault_knobs(const std::filesystem::path &bzimage, const std::vector<std::string> &knobs);

// How many console lines end with `line` (printk puts a timestamp before
// it): how a kernel confirms, once per boot, that it took a parameter.
int console_lines_ending(const std::string &console, const std::string &line);

// Why a kernel on this console would not arm `knob`: the WHY of its
// "luo_fault: refused NAME: WHY" line (a handler whose mode gives the knob
// nothing to break); nullopt when no kernel refused it.
std::optional<std::string> knob_refusal(const std::string &console, const std::string &knob);

// The knobs that fewer than `boots` kernels on this console confirmed with
// "luo_fault: armed NAME" (each kernel, kexec'd ones too, must arm them),
// or that a kernel refused.
std::vector<std::string> unconfirmed_knobs(const std::string &console,
					   const std::vector<std::string> &knobs, int boots);

// Why a run whose kernel did not arm `knob` is a setup error, with the
// kernel's own reason when it gave one.
std::string unconfirmed_knob_message(const std::string &console, const std::string &knob,
				     int boots, const std::filesystem::path &console_log);

} // namespace luo::host
