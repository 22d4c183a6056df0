// SPDX-License-Identifier: GPL-2.0-only
//
// HWPTs marked for preservation, for a contract in which PRESERVE_FD of an
// iommufd carries only those (protocol::Plan::iommufd_seal_err, the posted
// iommufd series): the VMM attaches each device through an HWPT it allocates
// and marks with a token, and the preserve of the iommufd gets two checks.
//
// Before it: an unsealed mapping in a marked HWPT's IOAS must be refused.
// The probe is a memfd sealed only after it was mapped (the rule is about the
// seals a file had when it was mapped, since a file that shrank in between
// has pages the preserve would miss), mapped at IOVA 0: areas are walked in
// IOVA order, so it is the first the kernel looks at, ahead of anything that
// may legitimately fail later.  It is unmapped again after the refusal, which
// also shows that a refused preserve left the IOAS mutable.
//
// After it: the IOAS is immutable, so a map and an unmap must both be
// refused.  Neither changes anything when refused, and an unmap of a range
// that was never mapped tells "immutable" from "nothing there".
//
// A VFIO device gets a check of its own (Plan::vfio_unmarked_err): its page
// table must be a marked HWPT, or it would come back with no translation.
// Right before its PRESERVE_FD the device moves to a new HWPT of the same
// IOAS that is not marked, the call must be refused, and the device goes
// back to its marked HWPT.  Allocating an HWPT and attaching to it change no
// mapping, so an IOAS that is immutable already allows both.
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/kinds.hpp"
#include "guest/luo.hpp"
#include "guest/sys.hpp"
#include "guest/uapi_compat.hpp"

namespace luo::guest::kind {

namespace {

constexpr std::uint64_t kProbeIova = 0;
constexpr std::uint64_t kProbeLen = 4096;
// Tokens are the VMM's to pick and only need to be unique in one iommufd.
constexpr std::uint32_t kTokenBase = 0x4c550000;

std::string ioas_text(const std::string &what, unsigned ioas)
{
	return "IOAS " + std::to_string(ioas) + " of " + what;
}

int attach_pt(int dev_fd, unsigned pt)
{
	vfio_device_attach_iommufd_pt at;
	std::memset(&at, 0, sizeof(at));
	at.argsz = sizeof(at);
	at.pt_id = pt;
	return ::ioctl(dev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) ? errno : 0;
}

// A new HWPT_PAGING for device `devid` on `ioas`, not marked.
Outcome hwpt_alloc(int iommufd, const std::string &what, unsigned devid, unsigned ioas, unsigned &id)
{
	iommu_hwpt_alloc a{};
	a.size = sizeof(a);
	a.dev_id = devid;
	a.pt_id = ioas;
	if (::ioctl(iommufd, IOMMU_HWPT_ALLOC, &a))
		return errno_fail("ioctl(" + what + ", IOMMU_HWPT_ALLOC, device " + std::to_string(devid) +
				  " on " + ioas_text(what, ioas) + ")");
	id = a.out_hwpt_id;
	return Outcome::ok();
}

int unmap(int iommufd, unsigned ioas, std::uint64_t iova, std::uint64_t len)
{
	iommu_ioas_unmap u{};
	u.size = sizeof(u);
	u.ioas_id = ioas;
	u.iova = iova;
	u.length = len;
	return ::ioctl(iommufd, IOMMU_IOAS_UNMAP, &u) ? errno : 0;
}

} // namespace

Outcome hwpt_attach_marked(int dev_fd, const std::string &dev, int iommufd,
			   const std::string &what, unsigned devid, unsigned ioas,
			   Attachment &out)
{
	unsigned hwpt = 0;
	if (auto r = hwpt_alloc(iommufd, what, devid, ioas, hwpt); !r)
		return r;
	if (int err = attach_pt(dev_fd, hwpt))
		return Outcome::fail(-err, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, HWPT " +
					   std::to_string(hwpt) + " of " + what + "): " + std::strerror(err));
	luo_iommu_hwpt_lu_set_preserve m{};
	m.size = sizeof(m);
	m.hwpt_id = hwpt;
	m.hwpt_token = kTokenBase + hwpt;
	if (::ioctl(iommufd, LUO_IOMMU_HWPT_LU_SET_PRESERVE, &m))
		return errno_fail("ioctl(" + what + ", IOMMU_HWPT_LU_SET_PRESERVE, HWPT " +
				  std::to_string(m.hwpt_id) + " token " + hex(m.hwpt_token) +
				  ") (ENOTTY: the kernel cannot mark HWPTs)");
	out = {ioas, hwpt, devid, {}, true};
	return Outcome::ok();
}

Outcome iommufd_probe_unsealed(const std::string &what, int iommufd, unsigned ioas, int sfd,
			       std::uint64_t token, int immutable_err, int &preserve_err)
{
	UniqueFd mem(::memfd_create("luo-rig-unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!mem.valid())
		return errno_fail("memfd_create(\"luo-rig-unsealed\") for the seal probe");
	if (::ftruncate(mem.get(), kProbeLen))
		return errno_fail("ftruncate the seal probe's memfd");
	iommu_ioas_map_file m{};
	m.size = sizeof(m);
	m.flags = kIoasMapFixedIova | kIoasMapReadable | kIoasMapWriteable;
	m.ioas_id = ioas;
	m.fd = mem.get();
	m.length = kProbeLen;
	m.iova = kProbeIova;
	// The probe runs only before a preserve the contract lets through, so
	// nothing holds the iommufd preserved: an IOAS still immutable was
	// left so by an earlier preserve that was undone (a closed session, a
	// failed preserve), and the seal rule could not be tried.
	if (::ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &m)) {
		const int err = errno;
		return Outcome::fail(-err, "ioctl(" + what + ", IOMMU_IOAS_MAP_FILE, an unsealed memfd at "
					   "IOVA " + hex(kProbeIova) + " of " + ioas_text(what, ioas) +
					   ") for the seal probe: " + std::strerror(err) +
					   (err == immutable_err ? " (the contract's answer for an immutable "
								   "IOAS, but the iommufd is not preserved)"
								 : ""));
	}
	if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_GROW | F_SEAL_SHRINK))
		return errno_fail("seal the probe's memfd after mapping it");

	int rc = luo::preserve(sfd, iommufd, token);
	preserve_err = rc < 0 ? -rc : 0;
	if (rc >= 0)
		return Outcome::fail(-EPROTO, "PRESERVE_FD " + what + " succeeded while a marked HWPT's " +
				    ioas_text(what, ioas) + " mapped a memfd that was sealed only "
				    "after it was mapped (and is not preserved): the contract "
				    "requires the seals at map time");
	if (int err = unmap(iommufd, ioas, kProbeIova, kProbeLen))
		return Outcome::fail(-err, "PRESERVE_FD " + what + " refused the seal probe (" +
				 std::strerror(preserve_err) + "), but unmapping the probe from " +
				 ioas_text(what, ioas) + " then failed (" + std::strerror(err) +
				 "): a refused preserve left the IOAS immutable");
	return Outcome::ok();
}

Outcome vfio_probe_unmarked(int dev_fd, const std::string &dev, int iommufd,
			    const std::string &what, const Attachment &mark, int sfd,
			    std::uint64_t token, int &preserve_err)
{
	unsigned id = 0;
	if (auto r = hwpt_alloc(iommufd, what, mark.devid, mark.ioas, id); !r)
		return Outcome::fail(r.result, r.detail + " for the unmarked-HWPT probe");
	const std::string probe = "HWPT " + std::to_string(id) + " of " +
				  ioas_text(what, mark.ioas) + " (not marked)";
	int rc = 0;
	if (int err = attach_pt(dev_fd, id))
		rc = -err;
	const bool moved = rc == 0;
	if (moved)
		rc = luo::preserve(sfd, dev_fd, token);
	preserve_err = rc < 0 ? -rc : 0;
	// Back to the marked HWPT whatever happened, and the probe's goes.
	int back = moved ? attach_pt(dev_fd, mark.hwpt) : 0;
	iommu_destroy d{};
	d.size = sizeof(d);
	d.id = id;
	int gone = back ? 0 : (::ioctl(iommufd, IOMMU_DESTROY, &d) ? errno : 0);
	if (!moved)
		return Outcome::fail(rc, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, " + probe +
					 "): " + std::strerror(-rc));
	if (back)
		return Outcome::fail(-back, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, marked HWPT " +
					    std::to_string(mark.hwpt) + ") to put the device back after "
					    "the unmarked-HWPT probe: " + std::strerror(back));
	if (rc >= 0)
		return Outcome::fail(-EPROTO, "PRESERVE_FD " + dev + " succeeded while the device was "
					      "attached to " + probe + ": the contract refuses a "
					      "device whose page table is not a marked HWPT");
	if (gone)
		return Outcome::fail(-gone, "ioctl(" + what + ", IOMMU_DESTROY, " + probe + "): " +
					    std::strerror(gone));
	return Outcome::ok();
}

Outcome vfio_move_unmarked(int dev_fd, const std::string &dev, int iommufd,
			   const std::string &what, Attachment &at)
{
	unsigned id = 0;
	if (auto r = hwpt_alloc(iommufd, what, at.devid, at.ioas, id); !r)
		return r;
	if (int err = attach_pt(dev_fd, id))
		return Outcome::fail(-err, "ioctl(" + dev + ", VFIO_DEVICE_ATTACH_IOMMUFD_PT, HWPT " +
					   std::to_string(id) + " of " + ioas_text(what, at.ioas) +
					   "): " + std::strerror(err));
	const unsigned from = at.hwpt;
	at.hwpt = id;
	at.marked = false;
	return {0, "moved from " + (from ? "HWPT " + std::to_string(from) : std::string("the IOAS itself")) +
			   " to HWPT " + std::to_string(at.hwpt) + " of " + ioas_text(what, at.ioas) +
			   ", not marked"};
}

Outcome iommufd_check_immutable(const std::string &what, int iommufd, unsigned ioas, int want)
{
	const std::string at = ioas_text(what, ioas);
	int err = unmap(iommufd, ioas, kProbeIova, kProbeLen);
	if (err != want)
		return Outcome::fail(-(err ? err : EPROTO),
			    "IOMMU_IOAS_UNMAP of IOVA " + hex(kProbeIova) + "+" + hex(kProbeLen) + " in " +
				    at + " after PRESERVE_FD: " +
				    (err ? std::strerror(err) : std::string("succeeded")) +
				    ", the contract makes a preserved HWPT's IOAS immutable (" +
				    std::strerror(want) + ")");

	Mapping page(kProbeLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!page.ok())
		return errno_fail("mmap a page for the immutability check");
	iommu_ioas_map m{};
	m.size = sizeof(m);
	m.flags = kIoasMapFixedIova | kIoasMapReadable;
	m.ioas_id = ioas;
	m.user_va = reinterpret_cast<std::uintptr_t>(page.addr);
	m.length = kProbeLen;
	m.iova = kProbeIova;
	err = ::ioctl(iommufd, IOMMU_IOAS_MAP, &m) ? errno : 0;
	if (err == want)
		return Outcome::ok();
	// Put the IOAS back as it was before saying so.
	if (!err)
		unmap(iommufd, ioas, kProbeIova, kProbeLen);
	return Outcome::fail(-(err ? err : EPROTO),
		    "IOMMU_IOAS_MAP of a page at IOVA " + hex(kProbeIova) + " in " + at +
			    " after PRESERVE_FD: " +
			    (err ? std::strerror(err) : std::string("succeeded")) +
			    ", the contract makes a preserved HWPT's IOAS immutable (" +
			    std::strerror(want) + ")");
}

} // namespace luo::guest::kind
