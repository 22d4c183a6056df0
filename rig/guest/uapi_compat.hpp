// SPDX-License-Identifier: GPL-2.0-only
//
// The uapi definitions the guest objects need, for building on a distribution
// whose kernel headers are older than the kernel under test (Debian 12 ships
// 6.1: no guest_memfd, no VFIO cdev ioctls, no <linux/iommufd.h>).
//
// Every definition is guarded so that newer system headers win, and copied
// from the 7.3 uapi headers (include/uapi/linux/{kvm,vfio,iommufd}.h): the
// layouts and ioctl numbers are ABI and must match byte for byte.  The
// static_asserts at the end catch a mistake in transcription.
#pragma once

#include <linux/ioctl.h>
#include <linux/kvm.h>
#include <linux/types.h>
#include <linux/vfio.h>

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif

/* ---- <linux/kvm.h> ---------------------------------------------------- */

#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, \
					 struct kvm_userspace_memory_region2)
#endif

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD	(1UL << 2)
#endif

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif

#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif

#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD	_IOWR(KVMIO,  0xd4, struct kvm_create_guest_memfd)
#endif

#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP		(1ULL << 0)
#endif

#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED	(1ULL << 1)
#endif

/* ---- <linux/vfio.h> --------------------------------------------------- */

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32		argsz;
	__u32		flags;
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
	__s32		iommufd;
	__u32		out_devid;
	__aligned_u64	token_uuid_ptr;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32	argsz;
	__u32	flags;
#define VFIO_DEVICE_ATTACH_PASID	(1 << 0)
	__u32	pt_id;
	__u32	pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT		_IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32	argsz;
	__u32	flags;
	__u32	pasid;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT		_IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/* ---- <linux/iommufd.h> ------------------------------------------------ */

#ifndef IOMMU_IOAS_ALLOC
#define IOMMUFD_TYPE (';')

struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#endif

#ifndef IOMMU_IOAS_COPY
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, 0x83)
#endif

#ifndef IOMMU_IOAS_MAP_FILE
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)
#endif

#ifndef IOMMU_IOAS_MAP
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)

struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#endif

#ifndef IOMMU_HWPT_ALLOC
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, 0x89)
#endif

/*
 * Not upstream: the posted iommufd Live Update series (v1, February 2026)
 * marks an HWPT for preservation with this ioctl.  Its number there (0x95)
 * is IOMMU_IOAS_NOIOMMU_GET_PA in 7.3, so the reference handler, like any
 * rebase of the series onto 7.3, takes the next one.  Our names, so that a
 * system header that has the real thing cannot clash.
 */
struct luo_iommu_hwpt_lu_set_preserve {
	__u32 size;
	__u32 hwpt_id;
	__u32 hwpt_token;
};
#define LUO_IOMMU_HWPT_LU_SET_PRESERVE _IO(IOMMUFD_TYPE, 0x96)

/* enum iommufd_ioas_map_flags: an enum upstream, so no #ifndef; our names. */
constexpr __u32 kIoasMapFixedIova = 1 << 0;
constexpr __u32 kIoasMapWriteable = 1 << 1;
constexpr __u32 kIoasMapReadable = 1 << 2;

/*
 * The kernel reads `argsz`/`size` bytes and rejects sizes below its minimum,
 * so an older system struct that is shorter but still covers the fields we
 * use is fine; anything shorter than these minimums is not.
 */
static_assert(sizeof(struct kvm_userspace_memory_region2) == 160);
static_assert(sizeof(struct kvm_create_guest_memfd) == 64);
static_assert(sizeof(struct vfio_device_bind_iommufd) >= 16);
static_assert(sizeof(struct vfio_device_attach_iommufd_pt) >= 12);
static_assert(sizeof(struct iommu_ioas_alloc) == 12);
static_assert(sizeof(struct iommu_destroy) == 8);
static_assert(KVM_SET_USER_MEMORY_REGION2 == 0x40a0ae49);
static_assert(KVM_CREATE_GUEST_MEMFD == 0xc040aed4);
static_assert(VFIO_DEVICE_BIND_IOMMUFD == 0x3b76);
static_assert(VFIO_DEVICE_ATTACH_IOMMUFD_PT == 0x3b77);
static_assert(sizeof(struct vfio_device_detach_iommufd_pt) == 12);
static_assert(VFIO_DEVICE_DETACH_IOMMUFD_PT == 0x3b78);
static_assert(IOMMU_IOAS_ALLOC == 0x3b81);
static_assert(IOMMU_DESTROY == 0x3b80);
static_assert(sizeof(struct iommu_ioas_copy) == 40);
static_assert(sizeof(struct iommu_ioas_map_file) == 40);
static_assert(IOMMU_IOAS_COPY == 0x3b83);
static_assert(IOMMU_IOAS_MAP_FILE == 0x3b8f);
static_assert(sizeof(struct iommu_ioas_map) == 40);
static_assert(sizeof(struct iommu_ioas_unmap) == 24);
static_assert(sizeof(struct iommu_hwpt_alloc) >= 24);
static_assert(IOMMU_IOAS_MAP == 0x3b85);
static_assert(IOMMU_IOAS_UNMAP == 0x3b86);
static_assert(IOMMU_HWPT_ALLOC == 0x3b89);
static_assert(sizeof(struct luo_iommu_hwpt_lu_set_preserve) == 12);
static_assert(LUO_IOMMU_HWPT_LU_SET_PRESERVE == 0x3b96);
