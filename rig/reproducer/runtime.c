/*
 * The part of every reproducer that does not depend on the case: luo-rig
 * reproducer appends it to the case's tables (objects[], steps[]) and the
 * enums and op names they use, generated from luo-rig's protocol.  It uses
 * only libc and the kernel's uapi headers, and runs in two or more stages
 * across kexec: each boot runs the steps of its own stage, then kexecs into
 * the next one (the same kernel, the same initramfs), carrying its stage
 * and the first wrong step on the kernel command line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/iommufd.h>
#include <linux/kcmp.h>
#include <linux/kvm.h>
#include <linux/liveupdate.h>
#include <linux/reboot.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STAGE_KEY "luo_repro.stage="
#define FAILED_KEY "luo_repro.failed="
#define VIA_KEY "luo_repro.via="
#define ARMED_KEY "luo_repro.armed="
#define CMDLINE_MAX 4096

static int obj_fd[NR_OBJECTS];
/* A guest_memfd's pages written after PRESERVE_FD are in: done in this stage, or restored. */
static int late_written[NR_OBJECTS];
static const char *session_name[NR_STEPS];
static int session_fd[NR_STEPS];
static int nr_sessions;
static int devfd = -1;
static char detail[512];

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

static int fail_errno(const char *what)
{
	int err = errno;

	say("%s: %s", what, strerror(err));
	return -err;
}

/*
 * `luo-rig reproducer --fail-nth STEP:N` (FAIL_NTH_STEP > 0): the Nth
 * fault-injection point that step's Live Update call reaches fails, as in
 * the rig's error-path walk, through /proc/thread-self/fail-nth.  Only the
 * call's own syscall is armed, so the failure lands in the code under
 * test.  A call that failed is then made again unarmed and the case goes
 * on, so a splat, a leak or a wrong outcome of the retry shows as it did
 * in the rig.
 */
#define FAIL_NTH "/proc/thread-self/fail-nth"
static unsigned int fail_nth_armed;	/* N for the next armed syscall */
static int fail_nth_fd = -1;
static int fail_nth_hit;
static char fail_nth_error[256];

static int write_knob(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		rc = fail_errno(path);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * failslab and fail_page_alloc spare sleeping and order-0 allocations
 * unless told otherwise; their reports are cut to one line each.  The debug
 * machinery's own caches are spared, as the rig spares them: it survives a
 * failed allocation by turning itself off, which would blind the run.
 */
static int fail_nth_setup(void)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "1" },
		{ "/sys/kernel/debug/failslab/cache-filter", "Y" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "1" },
	};
	char path[512];
	struct dirent *e;
	DIR *d;
	int rc;

	if (access(FAIL_NTH, F_OK))
		return fail_errno(FAIL_NTH " (the kernel needs CONFIG_FAULT_INJECTION: "
				  "luo-rig --kernel-flavour debug builds it)");
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	for (unsigned int i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if ((rc = write_knob(knobs[i][0], knobs[i][1])))
			return rc;
	d = opendir("/sys/kernel/slab");
	if (!d)
		return fail_errno("/sys/kernel/slab");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type == DT_LNK ||
		    !strcmp(e->d_name, "kmemleak_object") ||
		    !strcmp(e->d_name, "kmemleak_scan_area") ||
		    !strcmp(e->d_name, "debug_objects_cache"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/failslab", e->d_name);
		/* A merged cache refuses the mark: boot with slab_nomerge. */
		if ((rc = write_knob(path, "1"))) {
			closedir(d);
			return rc;
		}
	}
	closedir(d);
	return 0;
}

/* Opened and written before the syscall, so that neither allocates inside. */
static void arm_begin(void)
{
	char n[16];

	if (!fail_nth_armed)
		return;
	snprintf(n, sizeof(n), "%u", fail_nth_armed);
	fail_nth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	if (fail_nth_fd < 0 || write(fail_nth_fd, n, strlen(n)) < 0)
		snprintf(fail_nth_error, sizeof(fail_nth_error), "arm " FAIL_NTH ": %s",
			 strerror(errno));
}

/* What is left of the count says whether the failure was injected. */
static void arm_end(void)
{
	int err = errno;
	char buf[32] = "";

	if (fail_nth_fd < 0)
		return;
	if (pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		snprintf(fail_nth_error, sizeof(fail_nth_error), "read back " FAIL_NTH);
	else
		fail_nth_hit = strtoul(buf, NULL, 10) == 0;
	/* Left armed, the count would fail the reproducer's next syscall. */
	if (write(fail_nth_fd, "0", 1) < 0 && !fail_nth_error[0])
		snprintf(fail_nth_error, sizeof(fail_nth_error), "disarm " FAIL_NTH);
	close(fail_nth_fd);
	fail_nth_fd = -1;
	fail_nth_armed = 0;
	errno = err;
}

#define ARMED(call) ({ long __rc; arm_begin(); __rc = (call); arm_end(); __rc; })

/* The pattern luo-rig's mock VMM writes: splitmix64 of the seed and the index. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint8_t pattern_byte(uint32_t seed, uint64_t off)
{
	uint64_t w = mix(((uint64_t)seed << 40) ^ mix(off / 8));

	return (uint8_t)(w >> (8 * (off % 8)));
}

static void pattern_fill(uint32_t seed, uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		p[i] = pattern_byte(seed, i);
}

static int pattern_check(const struct repro_object *o, const uint8_t *p)
{
	for (uint64_t i = 0; i < o->size; i++)
		if (p[i] != pattern_byte(o->seed, i)) {
			say("%s: byte at offset %llu is 0x%02x, expected 0x%02x", o->name,
			    (unsigned long long)i, p[i], pattern_byte(o->seed, i));
			return -EIO;
		}
	return 0;
}

/*
 * luo-rig's guest_memfd layout: page 0 a hole, page 1 written after
 * PRESERVE_FD ("late"), page 2 before ("early"), the others by seed.
 */
enum { PAGE_EARLY, PAGE_LATE, PAGE_HOLE };

static int gmem_page(uint32_t seed, uint64_t page)
{
	uint64_t x;

	if (page < 3)
		return page == 0 ? PAGE_HOLE : page == 1 ? PAGE_LATE : PAGE_EARLY;
	x = mix(((uint64_t)seed << 32) ^ page) % 8;
	return x < 4 ? PAGE_EARLY : x == 4 ? PAGE_LATE : PAGE_HOLE;
}

static void gmem_write(const struct repro_object *o, uint8_t *p, int which)
{
	for (uint64_t pg = 0; pg < o->size / 4096; pg++)
		if (gmem_page(o->seed, pg) == which)
			for (uint64_t i = pg * 4096; i < (pg + 1) * 4096; i++)
				p[i] = pattern_byte(o->seed, i);
}

/*
 * Written pages in the page cache with their pattern; holes absent or, if
 * restored as folios, all zeros.  mincore() first, so no absent page is read.
 */
static int gmem_check(const struct repro_object *o, const uint8_t *p, int late)
{
	unsigned char *in = malloc(o->size / 4096);
	int rc = 0;

	if (!in || mincore((void *)p, o->size, in)) {
		free(in);
		return fail_errno("mincore guest_memfd");
	}
	for (uint64_t pg = 0; !rc && pg < o->size / 4096; pg++) {
		int cls = gmem_page(o->seed, pg);
		int want = cls == PAGE_EARLY || (cls == PAGE_LATE && late);

		if (want && !(in[pg] & 1)) {
			say("%s: page %llu is written, but is not in the page cache", o->name,
			    (unsigned long long)pg);
			rc = -EIO;
		}
		for (uint64_t i = pg * 4096; !rc && !want && (in[pg] & 1) && i < (pg + 1) * 4096; i++)
			if (p[i]) {
				say("%s: page %llu is %s, but holds data at offset %llu", o->name,
				    (unsigned long long)pg, cls == PAGE_HOLE ? "a hole" : "not written yet",
				    (unsigned long long)i);
				rc = -EIO;
			}
		for (uint64_t i = pg * 4096; !rc && want && i < (pg + 1) * 4096; i++)
			if (p[i] != pattern_byte(o->seed, i)) {
				say("%s: byte at offset %llu is 0x%02x, expected 0x%02x", o->name,
				    (unsigned long long)i, p[i], pattern_byte(o->seed, i));
				rc = -EIO;
			}
	}
	free(in);
	return rc;
}

/*
 * Each late page is allocated with fallocate() first: a kernel that froze
 * the mapping at PRESERVE_FD refuses it with an errno, where a write fault
 * would kill the reproducer with SIGBUS.
 */
static int gmem_write_late(const struct repro_object *o, int fd)
{
	uint8_t *p;
	uint64_t pg;

	for (pg = 0; pg < o->size / 4096; pg++)
		if (gmem_page(o->seed, pg) == PAGE_LATE &&
		    fallocate(fd, FALLOC_FL_KEEP_SIZE, pg * 4096, 4096))
			return fail_errno("fallocate a late page of guest_memfd after PRESERVE_FD");
	p = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail_errno("mmap guest_memfd after PRESERVE_FD");
	gmem_write(o, p, PAGE_LATE);
	munmap(p, o->size);
	late_written[o - objects] = 1;
	return 0;
}

/*
 * As the rig's mock VMM does: an iommufd maps the memfds it depends on into
 * its IOAS as mappings[] says, each whole in the first IOAS and ranges of
 * them in each later one; a restored one must still map every range there,
 * and no further.
 */
#define VMM_IOAS 1
#define MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static int set_slot(int vm, unsigned int slot, unsigned int flags, uint64_t gpa, uint64_t size,
		    void *uaddr, int gmem)
{
	struct kvm_userspace_memory_region2 r;

	memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uint64_t)(uintptr_t)uaddr;
	r.guest_memfd = gmem < 0 ? 0 : gmem;
	return ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r) ? -errno : 0;
}

#if RACE
/*
 * Races, as luo-rig's --inject race has them: while a Live Update call runs,
 * a helper thread per guest_memfd allocates its hole pages one at a time
 * from both ends inwards, by fallocate() and then by a write fault (a zero
 * byte through /proc/self/mem), punching them out again after each pass, and binds
 * the whole file to a memslot of its VM and deletes it again; one per
 * iommufd makes a new IOAS and destroys the one before it (one is kept
 * alive while the next is made, so a walk of the context always meets one
 * about to go), and in the one it keeps maps the memfd's last page, copies
 * the second page of the VMM's mapping out of IOAS 1 and unmaps the first;
 * and, on every call but the kexec, one creates a session of its own,
 * preserves a memfd of its own in it and closes it again.  The call starts
 * once every racer has made a change.  Holes may come back present if they
 * read zero, and the racers touch nothing else, so every check still holds.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <linux/falloc.h>

/* A call that never returns is a hang; racers that outlive it only load the machine. */
#define RACE_SECONDS 30
/* The racer's own IOAS maps far above every IOVA of mappings[], a slot a memfd. */
#define RACE_IOVA (1ULL << 32)
#define RACE_SLOT 0x1000000ULL

struct racer_arg {
	unsigned int obj;
	int fd;
};

static atomic_int race_stop;
static atomic_uint race_started, race_changes, race_session_changes;
static pthread_t racer[NR_OBJECTS + 1];
static struct racer_arg racer_arg[NR_OBJECTS + 1];
static unsigned int nr_racers;

static int race_over(time_t end)
{
	return atomic_load(&race_stop) || time(NULL) >= end;
}

static void race_ready(int *first)
{
	if (*first) {
		*first = 0;
		atomic_fetch_add(&race_started, 1);
	}
}

static void race_punch(int fd, const uint64_t *order, uint64_t nr)
{
	uint64_t i;

	for (i = 0; i < nr && !atomic_load(&race_stop); i++)
		if (!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, order[i] * 4096, 4096))
			atomic_fetch_add(&race_changes, 1);
}

/* The guest_memfd racer's memslot: neither the check's nor the vCPU run's. */
#define RACE_MEMSLOT 510
#define RACE_GPA 0x1000000000ULL

static void race_rebind(int vm, int fd, uint64_t size, void *map)
{
	if (set_slot(vm, RACE_MEMSLOT, KVM_MEM_GUEST_MEMFD, RACE_GPA, size, map, fd))
		return;
	atomic_fetch_add(&race_changes, 1);
	if (!set_slot(vm, RACE_MEMSLOT, 0, 0, 0, NULL, -1))
		atomic_fetch_add(&race_changes, 1);
}

static void *race_gmem(void *arg)
{
	const struct racer_arg *a = arg;
	const struct repro_object *o = &objects[a->obj];
	uint64_t pages = o->size / 4096, nr = 0, lo = 0, hi = 0, i;
	uint64_t *holes = calloc(pages ? pages : 1, sizeof(*holes));
	uint64_t *order = calloc(pages ? pages : 1, sizeof(*order));
	time_t end = time(NULL) + RACE_SECONDS;
	char *map = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	const char zero = 0;
	int first = 1;

	for (i = 0; holes && i < pages; i++)
		if (gmem_page(o->seed, i) == PAGE_HOLE)
			holes[hi++] = i;
	while (order && lo < hi) {
		order[nr++] = holes[--hi];
		if (lo < hi)
			order[nr++] = holes[lo++];
	}
	while (nr && !race_over(end)) {
		for (i = 0; i < nr && !atomic_load(&race_stop); i++) {
			if (!fallocate(a->fd, FALLOC_FL_KEEP_SIZE, order[i] * 4096, 4096))
				atomic_fetch_add(&race_changes, 1);
			race_ready(&first);
		}
		race_punch(a->fd, order, nr);
		if (map == MAP_FAILED)
			continue;
		if (o->dep >= 0 && obj_fd[o->dep] >= 0 && !atomic_load(&race_stop))
			race_rebind(obj_fd[o->dep], a->fd, o->size, map);
		/* A refused fault is EIO here, where a write would be a SIGBUS. */
		for (i = 0; mem >= 0 && i < nr && !atomic_load(&race_stop); i++)
			if (pwrite(mem, &zero, 1, (off_t)(uintptr_t)(map + order[i] * 4096)) == 1)
				atomic_fetch_add(&race_changes, 1);
		race_punch(a->fd, order, nr);
	}
	race_ready(&first);
	if (map != MAP_FAILED)
		munmap(map, o->size);
	if (mem >= 0)
		close(mem);
	free(holes);
	free(order);
	return NULL;
}

static void race_destroy(int fd, uint32_t id)
{
	struct iommu_destroy d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.id = id;
	if (!ioctl(fd, IOMMU_DESTROY, &d))
		atomic_fetch_add(&race_changes, 1);
}

/*
 * Only ranges of a memfd the iommufd maps already (`r`, its whole mapping in
 * the VMM's IOAS), into the racer's own IOAS.
 */
static void race_reshape(int fd, uint32_t ioas, const struct repro_mapping *r, unsigned int slot)
{
	int memfd = obj_fd[r->memfd];
	uint64_t size = objects[r->memfd].size;
	struct iommu_ioas_map_file m;
	struct iommu_ioas_copy c;
	struct iommu_ioas_unmap u;
	int mapped;

	if (memfd < 0 || size < 2 * 4096 || r->length < 2 * 4096)
		return;
	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.flags = MAP_FLAGS;
	m.ioas_id = ioas;
	m.fd = memfd;
	m.start = size - 4096;
	m.length = 4096;
	m.iova = RACE_IOVA + slot * RACE_SLOT;
	mapped = !ioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
	if (mapped)
		atomic_fetch_add(&race_changes, 1);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = MAP_FLAGS;
	c.dst_ioas_id = ioas;
	c.src_ioas_id = VMM_IOAS;
	c.length = 4096;
	c.dst_iova = RACE_IOVA + slot * RACE_SLOT + 2 * 4096;
	c.src_iova = r->iova + 4096;
	if (!ioctl(fd, IOMMU_IOAS_COPY, &c))
		atomic_fetch_add(&race_changes, 1);
	if (!mapped)
		return;
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.ioas_id = ioas;
	u.iova = RACE_IOVA + slot * RACE_SLOT;
	u.length = 4096;
	if (!ioctl(fd, IOMMU_IOAS_UNMAP, &u))
		atomic_fetch_add(&race_changes, 1);
}

static void *race_iommufd(void *arg)
{
	const struct racer_arg *a = arg;
	time_t end = time(NULL) + RACE_SECONDS;
	uint32_t kept = 0;
	unsigned int k, slot;
	int first = 1;

	while (!race_over(end)) {
		struct iommu_ioas_alloc al;

		memset(&al, 0, sizeof(al));
		al.size = sizeof(al);
		if (!ioctl(a->fd, IOMMU_IOAS_ALLOC, &al)) {
			atomic_fetch_add(&race_changes, 1);
			if (kept)
				race_destroy(a->fd, kept);
			kept = al.out_ioas_id;
			/* Each memfd the VMM maps whole into its own IOAS. */
			for (k = 0, slot = 0; k < NR_MAPPINGS; k++)
				if (mappings[k].iommufd == (int)a->obj &&
				    mappings[k].ioas == VMM_IOAS)
					race_reshape(a->fd, kept, &mappings[k], slot++);
		}
		race_ready(&first);
	}
	/* The context is left as the racer found it. */
	if (kept)
		race_destroy(a->fd, kept);
	race_ready(&first);
	return NULL;
}

static void *race_sessions(void *arg)
{
	time_t end = time(NULL) + RACE_SECONDS;
	static atomic_uint next;
	int first = 1;

	(void)arg;
	while (!race_over(end)) {
		struct liveupdate_ioctl_create_session cs;
		struct liveupdate_session_preserve_fd pf;
		unsigned int n = atomic_fetch_add(&next, 1);
		int mfd;

		memset(&cs, 0, sizeof(cs));
		cs.size = sizeof(cs);
		snprintf((char *)cs.name, sizeof(cs.name), "luo-rig-race-%u", n);
		if (!ioctl(devfd, LIVEUPDATE_IOCTL_CREATE_SESSION, &cs)) {
			atomic_fetch_add(&race_session_changes, 1);
			mfd = memfd_create("luo-rig-race", MFD_CLOEXEC);
			if (mfd >= 0 && !ftruncate(mfd, 4096)) {
				memset(&pf, 0, sizeof(pf));
				pf.size = sizeof(pf);
				pf.fd = mfd;
				pf.token = n;
				if (!ioctl(cs.fd, LIVEUPDATE_SESSION_PRESERVE_FD, &pf))
					atomic_fetch_add(&race_session_changes, 1);
			}
			if (mfd >= 0)
				close(mfd);
			/* Unpreserves the memfd and frees the session. */
			if (!close(cs.fd))
				atomic_fetch_add(&race_session_changes, 1);
		}
		race_ready(&first);
	}
	race_ready(&first);
	return NULL;
}

/* The Live Update calls luo-rig races. */
static int races(int op)
{
	return op == OP_SESSION_CREATE || op == OP_SESSION_RETRIEVE || op == OP_SESSION_CLOSE ||
	       op == OP_PRESERVE || op == OP_RETRIEVE || op == OP_FINISH || op == OP_KEXEC;
}

/*
 * The session racer needs /dev/liveupdate open, and is left out of the kexec:
 * a session it left open at the reboot would cross into the next kernel.
 */
static void race_begin(int op)
{
	unsigned int i;

	atomic_store(&race_stop, 0);
	atomic_store(&race_started, 0);
	atomic_store(&race_changes, 0);
	atomic_store(&race_session_changes, 0);
	nr_racers = 0;
	for (i = 0; i < NR_OBJECTS; i++) {
		void *(*fn)(void *) = objects[i].kind == K_GUEST_MEMFD ? race_gmem
				    : objects[i].kind == K_IOMMUFD     ? race_iommufd
								       : NULL;

		if (!fn || obj_fd[i] < 0)
			continue;
		racer_arg[nr_racers].obj = i;
		racer_arg[nr_racers].fd = obj_fd[i];
		if (!pthread_create(&racer[nr_racers], NULL, fn, &racer_arg[nr_racers]))
			nr_racers++;
	}
	if (devfd >= 0 && op != OP_KEXEC &&
	    !pthread_create(&racer[nr_racers], NULL, race_sessions, NULL))
		nr_racers++;
	while (atomic_load(&race_started) < nr_racers)
		sched_yield();
}

/* How many changes the object racers made; none of them: -1. */
static long race_end(void)
{
	unsigned int i;

	atomic_store(&race_stop, 1);
	for (i = 0; i < nr_racers; i++)
		pthread_join(racer[i], NULL);
	return nr_racers ? (long)atomic_load(&race_changes) : -1;
}
#endif

static int size_check(const struct repro_object *o, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return fail_errno("fstat");
	if ((uint64_t)st.st_size != o->size) {
		say("%s has size %lld, expected %llu", o->name, (long long)st.st_size,
		    (unsigned long long)o->size);
		return -EIO;
	}
	return 0;
}

static int create_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (kvm < 0)
		return fail_errno("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		vm = fail_errno("KVM_CREATE_VM");
	close(kvm);
	return vm;
}

/* The vCPU ID limit luo-rig's VMM sets on each VM, and checks after restore. */
static int vcpu_id_limit(int vm, uint64_t limit)
{
	struct kvm_enable_cap cap;

	memset(&cap, 0, sizeof(cap));
	cap.cap = KVM_CAP_MAX_VCPU_ID;
	cap.args[0] = limit;
	return ioctl(vm, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

static int check_vcpu_id_limit(const struct repro_object *o, int vm)
{
	uint64_t limit = 256 + o->seed % 768;
	int rc;

	if (vcpu_id_limit(vm, limit - 1) == 0) {
		say("%s accepted a vCPU ID limit of %llu: its limit of %llu is gone", o->name,
		    (unsigned long long)limit - 1, (unsigned long long)limit);
		return -EIO;
	}
	rc = vcpu_id_limit(vm, limit);
	if (rc)
		say("%s refused its own vCPU ID limit %llu: %s", o->name,
		    (unsigned long long)limit, strerror(-rc));
	return rc;
}

static int gmem_slot(int vm, int gmem, uint64_t size, void *uaddr)
{
	struct kvm_userspace_memory_region2 r;

	memset(&r, 0, sizeof(r));
	r.slot = 501;
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.guest_phys_addr = 0x800000000ULL;
	r.memory_size = size;
	r.userspace_addr = (uint64_t)(uintptr_t)uaddr;
	r.guest_memfd = gmem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r))
		return -errno;
	r.memory_size = 0;
	r.flags = 0;
	ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r);
	return 0;
}


static int ioas_map_memfd(int iommufd, int memfd, const struct repro_mapping *r)
{
	struct iommu_ioas_map_file m;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.flags = MAP_FLAGS;
	m.ioas_id = r->ioas;
	m.fd = memfd;
	m.start = r->start;
	m.length = r->length;
	m.iova = r->iova;
	return ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &m) ? fail_errno("IOMMU_IOAS_MAP_FILE") : 0;
}

/* IOMMU_IOAS_COPY succeeds only if the whole range is mapped. */
static int ioas_copy_out(int iommufd, uint32_t scratch, const struct repro_mapping *r,
			 uint64_t length)
{
	struct iommu_ioas_copy c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = MAP_FLAGS;
	c.dst_ioas_id = scratch;
	c.src_ioas_id = r->ioas;
	c.length = length;
	c.dst_iova = r->iova;
	c.src_iova = r->iova;
	return ioctl(iommufd, IOMMU_IOAS_COPY, &c) ? -errno : 0;
}

/*
 * The range is mapped, and no further.  One page more is tried first: once
 * the range itself is in the scratch IOAS, any second copy to the same
 * IOVAs fails there, whatever the source maps.
 */
static int ioas_mapped(int iommufd, uint32_t scratch, const struct repro_mapping *r)
{
	const struct repro_object *iommu = &objects[r->iommufd], *mem = &objects[r->memfd];
	struct iommu_ioas_unmap u;
	int rc;

	if (ioas_copy_out(iommufd, scratch, r, r->length + 4096) == 0) {
		memset(&u, 0, sizeof(u));
		u.size = sizeof(u);
		u.ioas_id = scratch;
		u.iova = r->iova;
		u.length = r->length + 4096;
		ioctl(iommufd, IOMMU_IOAS_UNMAP, &u);
		say("%s: IOAS %u maps one page more than %s 0x%llx+0x%llx at IOVA 0x%llx: "
		    "the mapping grew", iommu->name, r->ioas, mem->name, r->start, r->length,
		    r->iova);
		return -EIO;
	}
	rc = ioas_copy_out(iommufd, scratch, r, r->length);
	if (rc)
		say("%s: IOAS %u no longer maps %s 0x%llx+0x%llx at IOVA 0x%llx: %s", iommu->name,
		    r->ioas, mem->name, r->start, r->length, r->iova, strerror(-rc));
	return rc;
}

static int do_create(const struct repro_object *o, int dep_fd)
{
	struct kvm_create_guest_memfd g;
	struct iommu_ioas_alloc ioas;
	unsigned int k;
	uint8_t *p;
	int fd, rc;

	switch (o->kind) {
	case K_MEMFD:
		fd = memfd_create(o->name, MFD_CLOEXEC);
		if (fd < 0)
			return fail_errno("memfd_create");
		p = malloc(o->size);
		if (!p || ftruncate(fd, o->size))
			return fail_errno("ftruncate");
		pattern_fill(o->seed, p, o->size);
		if (pwrite(fd, p, o->size, 0) != (ssize_t)o->size)
			return fail_errno("pwrite");
		free(p);
		return fd;
	case K_KVM_VM:
		fd = create_vm();
		if (fd >= 0 && vcpu_id_limit(fd, 256 + o->seed % 768))
			return fail_errno("KVM_ENABLE_CAP KVM_CAP_MAX_VCPU_ID");
		return fd;
	case K_GUEST_MEMFD:
		memset(&g, 0, sizeof(g));
		g.size = o->size;
		/* MMAP + INIT_SHARED: data goes in without running a vCPU. */
		g.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
		fd = ioctl(dep_fd, KVM_CREATE_GUEST_MEMFD, &g);
		if (fd < 0)
			return fail_errno("KVM_CREATE_GUEST_MEMFD");
		p = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return fail_errno("mmap guest_memfd");
		gmem_write(o, p, PAGE_EARLY);
		munmap(p, o->size);
		return fd;
	case K_IOMMUFD:
		fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return fail_errno("open /dev/iommu");
		/* Its IOAS, numbered in order as mappings[] has them. */
		for (k = 1; k <= o->ioas; k++) {
			memset(&ioas, 0, sizeof(ioas));
			ioas.size = sizeof(ioas);
			if (ioctl(fd, IOMMU_IOAS_ALLOC, &ioas))
				return fail_errno("IOMMU_IOAS_ALLOC");
			if (ioas.out_ioas_id != k) {
				say("%s: IOAS %u of a new iommufd got ID %u", o->name, k,
				    ioas.out_ioas_id);
				return -EINVAL;
			}
		}
		rc = 0;
		for (k = 0; k < NR_MAPPINGS && !rc; k++)
			if (mappings[k].iommufd == o - objects)
				rc = ioas_map_memfd(fd, obj_fd[mappings[k].memfd], &mappings[k]);
		return rc ? rc : fd;
	case K_UNSUPPORTED:
		fd = eventfd(0, EFD_CLOEXEC);
		return fd < 0 ? fail_errno("eventfd") : fd;
	}
	return -EINVAL;
}

/*
 * run-vcpu: a new vCPU of the guest_memfd's VM runs luo-rig's guest program
 * (its image is in vcpus[], as luo-rig built it): it sums every page of the
 * guest_memfd mapped at VCPU_GMEM_GPA through its page tables, so through
 * KVM's guest fault path, and ends on an OUT to VCPU_DONE_PORT.
 */
static uint32_t page_sum(const uint8_t *page)
{
	uint32_t sum = 0, w;

	for (int i = 0; i < 4096; i += 4) {
		memcpy(&w, page + i, 4);
		sum = (sum << 5 | sum >> 27) ^ w;
	}
	return sum;
}

static uint32_t expected_sum(const struct repro_object *o, uint64_t pg, int late)
{
	uint8_t page[4096];
	int cls = gmem_page(o->seed, pg);

	if (cls == PAGE_HOLE || (cls == PAGE_LATE && !late))
		return 0;
	for (int i = 0; i < 4096; i++)
		page[i] = pattern_byte(o->seed, pg * 4096 + i);
	return page_sum(page);
}

static void flat(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

static int vcpu_go(const struct repro_object *o, int vm, const struct repro_vcpu *v,
		   uint8_t *img, int late)
{
	static unsigned long next_id;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vcpu = -1, size, rc = 0;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail_errno("open /dev/kvm");
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	close(kvm);
	if (size <= 0)
		return fail_errno("KVM_GET_VCPU_MMAP_SIZE");
	/* vCPU ids are never reused in a VM. */
	for (int tries = 0; vcpu < 0 && tries < 64; tries++) {
		vcpu = ioctl(vm, KVM_CREATE_VCPU, next_id++);
		if (vcpu < 0 && errno != EEXIST)
			return fail_errno("KVM_CREATE_VCPU");
	}
	if (vcpu < 0)
		return fail_errno("KVM_CREATE_VCPU");
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		rc = fail_errno("mmap kvm_run");
		goto out;
	}
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs)) {
		rc = fail_errno("KVM_GET_SREGS");
		goto out_run;
	}
	flat(&sregs.cs, 0x08, 0xb);
	flat(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x80000011;	/* PG | ET | PE */
	sregs.cr3 = v->cr3;
	sregs.cr4 = 0;
	sregs.efer = 0;
	memset(&regs, 0, sizeof(regs));
	regs.rip = v->entry;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs)) {
		rc = fail_errno("KVM_SET_SREGS/KVM_SET_REGS");
		goto out_run;
	}
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -errno;
			if (run->exit_reason == KVM_EXIT_MEMORY_FAULT)
				say("KVM_RUN: %s, a memory fault exit at guest physical 0x%llx",
				    strerror(-rc), (unsigned long long)run->memory_fault.gpa);
			else
				say("KVM_RUN: %s, exit reason %u", strerror(-rc), run->exit_reason);
			goto out_run;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == VCPU_DONE_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT)
			break;
		say("the vCPU stopped with exit reason %u before the program was done",
		    run->exit_reason);
		rc = -EIO;
		goto out_run;
	}
	for (uint32_t pg = 0; pg < v->pages; pg++) {
		uint32_t got, want = expected_sum(o, pg, late);

		memcpy(&got, img + v->results + 4 * pg, 4);
		if (got != want) {
			say("the vCPU read %s page %u as sum 0x%x, expected 0x%x", o->name, pg,
			    got, want);
			rc = -EIO;
			break;
		}
	}
out_run:
	munmap(run, size);
out:
	close(vcpu);
	return rc;
}

static int run_vcpu(const struct repro_object *o, int fd, int vm)
{
	const struct repro_vcpu *v = NULL;
	uint8_t *img, *g;
	int rc;

	for (unsigned int i = 0; i < NR_VCPUS; i++)
		if (&objects[vcpus[i].object] == o)
			v = &vcpus[i];
	if (!v) {
		say("no vCPU program for %s", o->name);
		return -EINVAL;
	}
	img = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img == MAP_FAILED)
		return fail_errno("mmap the vCPU program");
	for (unsigned int i = 0; i < v->nr_words; i++)
		memcpy(img + v->words[i][0], &v->words[i][1], 4);
	g = mmap(NULL, o->size, PROT_READ, MAP_SHARED, fd, 0);
	if (g == MAP_FAILED) {
		munmap(img, v->size);
		return fail_errno("mmap guest_memfd");
	}
	rc = set_slot(vm, 502, 0, 0, v->size, img, -1);
	if (rc) {
		say("the program's memslot: %s", strerror(-rc));
	} else {
		rc = set_slot(vm, 503, KVM_MEM_GUEST_MEMFD, VCPU_GMEM_GPA, o->size, g, fd);
		if (rc)
			say("a memslot backed by %s: %s", o->name, strerror(-rc));
		else
			rc = vcpu_go(o, vm, v, img, late_written[o - objects]);
		set_slot(vm, 503, 0, VCPU_GMEM_GPA, 0, g, -1);
		set_slot(vm, 502, 0, 0, 0, img, -1);
	}
	munmap(g, o->size);
	munmap(img, v->size);
	return rc;
}

/* An iommufd that maps a memfd with no fd in this stage. */
static int maps_unheld(const struct repro_object *o)
{
	unsigned int k;

	for (k = 0; k < NR_MAPPINGS; k++)
		if (mappings[k].iommufd == o - objects && obj_fd[mappings[k].memfd] < 0)
			return 1;
	return 0;
}

static int do_verify(const struct repro_object *o, int fd, int dep_fd)
{
	struct kvm_userspace_memory_region r;
	struct iommu_ioas_alloc ioas;
	struct iommu_destroy d;
	static int other_vm = -1;
	unsigned int k;
	uint8_t *p;
	int rc;

	switch (o->kind) {
	case K_MEMFD:
		rc = size_check(o, fd);
		if (rc)
			return rc;
		p = malloc(o->size);
		if (!p || pread(fd, p, o->size, 0) != (ssize_t)o->size)
			return fail_errno("pread");
		rc = pattern_check(o, p);
		free(p);
		return rc;
	case K_KVM_VM:
		rc = check_vcpu_id_limit(o, fd);
		if (rc)
			return rc;
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return fail_errno("mmap");
		memset(&r, 0, sizeof(r));
		r.slot = 500;
		r.guest_phys_addr = 0x7f0000000ULL;
		r.memory_size = 1 << 16;
		r.userspace_addr = (uint64_t)(uintptr_t)p;
		rc = ioctl(fd, KVM_SET_USER_MEMORY_REGION, &r) ? fail_errno("KVM_SET_USER_MEMORY_REGION") : 0;
		r.memory_size = 0;
		ioctl(fd, KVM_SET_USER_MEMORY_REGION, &r);
		munmap(p, 1 << 16);
		return rc;
	case K_GUEST_MEMFD:
		rc = size_check(o, fd);
		if (rc)
			return rc;
		p = mmap(NULL, o->size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return fail_errno("mmap guest_memfd");
		rc = gmem_check(o, p, late_written[o - objects]);
		if (!rc) {
			rc = gmem_slot(dep_fd, fd, o->size, p);
			if (rc)
				say("KVM_SET_USER_MEMORY_REGION2 of %s on its VM: %s (EINVAL: it "
				    "belongs to another VM)", o->name, strerror(-rc));
		}
		/* The other half: a VM that never created it must refuse it. */
		if (!rc && other_vm < 0)
			other_vm = create_vm();
		if (!rc && other_vm >= 0 && gmem_slot(other_vm, fd, o->size, p) == 0) {
			say("an unrelated VM accepted %s; it must be bound to its own VM only",
			    o->name);
			rc = -EXDEV;
		}
		munmap(p, o->size);
		return rc;
	case K_IOMMUFD:
		memset(&ioas, 0, sizeof(ioas));
		ioas.size = sizeof(ioas);
		if (ioctl(fd, IOMMU_IOAS_ALLOC, &ioas))
			return fail_errno("IOMMU_IOAS_ALLOC");
		rc = 0;
		for (k = 0; k < NR_MAPPINGS && !rc; k++)
			if (mappings[k].iommufd == o - objects)
				rc = ioas_mapped(fd, ioas.out_ioas_id, &mappings[k]);
		memset(&d, 0, sizeof(d));
		d.size = sizeof(d);
		d.id = ioas.out_ioas_id;
		if (ioctl(fd, IOMMU_DESTROY, &d) && !rc)
			rc = fail_errno("IOMMU_DESTROY");
		return rc;
	case K_UNSUPPORTED:
		return fcntl(fd, F_GETFD) < 0 ? fail_errno("fcntl") : 0;
	}
	return -EINVAL;
}

static int *session_slot(const char *name, int create)
{
	for (int i = 0; i < nr_sessions; i++)
		if (!strcmp(session_name[i], name))
			return &session_fd[i];
	if (!create)
		return NULL;
	session_name[nr_sessions] = name;
	session_fd[nr_sessions] = -1;
	return &session_fd[nr_sessions++];
}

static int open_session(const char *name, unsigned long cmd)
{
	struct liveupdate_ioctl_create_session arg;
	int *slot;

	if (devfd < 0)
		devfd = open("/dev/liveupdate", O_RDWR | O_CLOEXEC);
	if (devfd < 0)
		return fail_errno("open /dev/liveupdate");
	/* CREATE_SESSION and RETRIEVE_SESSION take the same layout. */
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	snprintf((char *)arg.name, sizeof(arg.name), "%s", name);
	if (ARMED(ioctl(devfd, cmd, &arg)))
		return fail_errno(cmd == LIVEUPDATE_IOCTL_CREATE_SESSION ? "CREATE_SESSION"
									 : "RETRIEVE_SESSION");
	slot = session_slot(name, 1);
	*slot = arg.fd;
	return 0;
}

static int retrieve(int sfd, uint64_t token)
{
	struct liveupdate_session_retrieve_fd arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.token = token;
	if (ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg))
		return fail_errno("RETRIEVE_FD");
	return arg.fd;
}

static int retrieve_unwritable(int sfd, uint64_t token)
{
	long page = sysconf(_SC_PAGESIZE);
	struct liveupdate_session_retrieve_fd *arg;
	int rc;

	arg = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arg == MAP_FAILED)
		return fail_errno("mmap");
	arg->size = sizeof(*arg);
	arg->fd = -1;
	arg->token = token;
	/* The kernel reads the request, retrieves, then cannot write the fd back. */
	rc = mprotect(arg, page, PROT_READ) ? fail_errno("mprotect") : 0;
	if (!rc && ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, arg))
		rc = fail_errno("RETRIEVE_FD with a read-only argument");
	munmap(arg, page);
	return rc;
}

static int read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

static long cmdline_value(const char *cmdline, const char *key, long def)
{
	const char *at = strstr(cmdline, key);

	return at ? strtol(at + strlen(key), NULL, 10) : def;
}

/* The next stage's command line: ours without our own keys, plus them anew. */
static void next_cmdline(const char *now, char *out, size_t len, long stage, long failed,
			 long via, long armed)
{
	char copy[CMDLINE_MAX], *save, *w;
	size_t used = 0;

	snprintf(copy, sizeof(copy), "%s", now);
	out[0] = 0;
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (!strncmp(w, STAGE_KEY, strlen(STAGE_KEY)) ||
		    !strncmp(w, FAILED_KEY, strlen(FAILED_KEY)) ||
		    !strncmp(w, VIA_KEY, strlen(VIA_KEY)) ||
		    !strncmp(w, ARMED_KEY, strlen(ARMED_KEY)))
			continue;
		used += snprintf(out + used, len - used, "%s ", w);
	}
	snprintf(out + used, len - used, STAGE_KEY "%ld " FAILED_KEY "%ld " VIA_KEY "%ld " ARMED_KEY
		 "%ld", stage, failed, via, armed);
}

/*
 * `via` is the kexec step: if the next stage runs at all, that step went
 * through, and a step that had to be refused is then the first wrong one.
 */
static int kexec_next(const char *kernel, const char *initrd, long stage, long failed, long via)
{
	char now[CMDLINE_MAX], next[CMDLINE_MAX];
	int kfd, ifd;
	long rc;

	if (read_cmdline(now, sizeof(now)))
		return fail_errno("read /proc/cmdline");
	if (!failed && steps[via - 1].expect != E_OK)
		failed = via;
	/* Whether the next stage came through a kexec that fail-nth armed. */
	next_cmdline(now, next, sizeof(next), stage + 1, failed, via, fail_nth_armed != 0);
	kfd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return fail_errno(kernel);
	ifd = open(initrd, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return fail_errno(initrd);
	rc = syscall(SYS_kexec_file_load, kfd, ifd, strlen(next) + 1, next, 0UL);
	close(kfd);
	close(ifd);
	if (rc)
		return fail_errno("kexec_file_load");
	printf("repro: stage %ld done, kexec into stage %ld\n", stage, stage + 1);
	fflush(stdout);
	sync();
	rc = ARMED(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			   LINUX_REBOOT_CMD_KEXEC, NULL));
	return fail_errno("reboot(LINUX_REBOOT_CMD_KEXEC)");
}

/* Copies a file the kernel keeps (the retained initrd) where kexec can read it. */
static const char *readable_copy(const char *path)
{
	static char copy[] = "/tmp/repro-initrd";
	char buf[1 << 16];
	int in, out;
	ssize_t n;

	if (strncmp(path, "/sys/", 5))
		return path;
	in = open(path, O_RDONLY);
	mkdir("/tmp", 0755);
	out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		return path;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	close(in);
	close(out);
	return copy;
}


static int run_step(const struct repro_step *s, long stage, long failed,
		    const char *kernel, const char *initrd, long number)
{
	const struct repro_object *o = s->object >= 0 ? &objects[s->object] : NULL;
	int dep = o && o->dep >= 0 ? obj_fd[o->dep] : -1;
	int *sfd = s->session ? session_slot(s->session, 0) : NULL;
	struct liveupdate_session_preserve_fd p;
	struct liveupdate_session_finish f;
	pid_t me = getpid();
	int fd, rc;

	detail[0] = 0;
	if (s->session && s->op != OP_SESSION_CREATE && s->op != OP_SESSION_RETRIEVE &&
	    (!sfd || *sfd < 0)) {
		say("session %s is not open", s->session);
		return -EBADF;
	}
	switch (s->op) {
	case OP_CREATE:
		fd = do_create(o, dep);
		if (fd >= 0)
			obj_fd[s->object] = fd;
		return fd < 0 ? fd : 0;
	case OP_SESSION_CREATE:
		return open_session(s->session, LIVEUPDATE_IOCTL_CREATE_SESSION);
	case OP_SESSION_RETRIEVE:
		return open_session(s->session, LIVEUPDATE_IOCTL_RETRIEVE_SESSION);
	case OP_SESSION_CLOSE:
		rc = close(*sfd) ? fail_errno("close session") : 0;
		*sfd = -1;
		return rc;
	case OP_PRESERVE:
		memset(&p, 0, sizeof(p));
		p.size = sizeof(p);
		p.fd = obj_fd[s->object];
		p.token = s->token;
		if (ARMED(ioctl(*sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &p)))
			return fail_errno("PRESERVE_FD");
		return o->kind == K_GUEST_MEMFD ? gmem_write_late(o, obj_fd[s->object]) : 0;
	case OP_RETRIEVE:
		fd = retrieve(*sfd, s->token);
		if (fd >= 0 && o) {
			obj_fd[s->object] = fd;
			late_written[s->object] = 1;
		}
		else if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : 0;
	case OP_RETRIEVE_UNWRITABLE:
		return retrieve_unwritable(*sfd, s->token);
	case OP_SAME_OBJECT:
		fd = retrieve(*sfd, s->token);
		if (fd < 0)
			return fd;
		rc = syscall(SYS_kcmp, me, me, KCMP_FILE, obj_fd[s->object], fd);
		close(fd);
		if (rc) {
			say("the second RETRIEVE_FD gave a different file");
			return -ESTALE;
		}
		return 0;
	case OP_VERIFY:
		if (obj_fd[s->object] < 0 || (o->dep >= 0 && dep < 0) || maps_unheld(o)) {
			say("%s or its dependency has no fd in this stage", o->name);
			return -EBADF;
		}
		return do_verify(o, obj_fd[s->object], dep);
	case OP_FINISH:
		memset(&f, 0, sizeof(f));
		f.size = sizeof(f);
		return ARMED(ioctl(*sfd, LIVEUPDATE_SESSION_FINISH, &f)) ? fail_errno("FINISH") : 0;
	case OP_VERIFY_FRESH:
		/* The checks on a new object of the kind must fail. */
		fd = o->kind == K_MEMFD ? memfd_create(o->name, MFD_CLOEXEC)
		   : o->kind == K_KVM_VM ? create_vm()
		   : o->kind == K_IOMMUFD ? open("/dev/iommu", O_RDWR | O_CLOEXEC)
		   : -EINVAL;
		if (o->kind == K_MEMFD && fd >= 0 && ftruncate(fd, o->size))
			fd = fail_errno("ftruncate");
		if (o->kind == K_GUEST_MEMFD) {
			struct kvm_create_guest_memfd g;

			memset(&g, 0, sizeof(g));
			g.size = o->size;
			g.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
			fd = ioctl(dep, KVM_CREATE_GUEST_MEMFD, &g);
		}
		if (fd < 0) {
			say("cannot make a new %s to check", o->name);
			return 0;
		}
		rc = do_verify(o, fd, dep);
		if (!rc)
			say("the checks pass on a new %s too", o->name);
		/* The vCPU read must tell it apart on its own, as in the rig. */
		if (rc && o->kind == K_GUEST_MEMFD && run_vcpu(o, fd, dep) == 0) {
			say("the vCPU read passes on a new %s too", o->name);
			rc = 0;
		}
		close(fd);
		return rc;
	case OP_CLOSE_OBJECT:
		close(obj_fd[s->object]);
		obj_fd[s->object] = -1;
		return 0;
	case OP_KEXEC:
		return kexec_next(kernel, initrd, stage, failed, number);
	case OP_RUN_VCPU:
		if (obj_fd[s->object] < 0 || dep < 0) {
			say("%s or its VM has no fd in this stage", o->name);
			return -EBADF;
		}
		return run_vcpu(o, obj_fd[s->object], dep);
	case OP_OPEN_DEVICE:
	case OP_OPEN_GROUP:
	case OP_BIND_DEVICE:
	case OP_CHECK_UNBOUND:
	case OP_MOVE_DEVICE:
		/* No reproducer is written for a case with a VFIO device. */
		break;
	}
	return -EINVAL;
}

static int matches(const struct repro_step *s, int rc)
{
	switch (s->expect) {
	case E_OK: return rc >= 0;
	case E_ERRNO: return rc == -s->err;
	case E_ANY_ERROR: return rc < 0;
	}
	return 0;
}

static const char *expected(const struct repro_step *s)
{
	switch (s->expect) {
	case E_OK: return "ok";
	case E_ERRNO: return strerrorname_np(s->err) ? strerrorname_np(s->err) : "an errno";
	case E_ANY_ERROR: return "an error";
	}
	return "?";
}

static const char *describe(int rc, char *buf, size_t len)
{
	if (rc >= 0)
		return "ok";
	snprintf(buf, len, "%s (%d)", strerrorname_np(-rc) ? strerrorname_np(-rc) : "?", -rc);
	return buf;
}

static void print_step(unsigned int i, const struct repro_step *s, int rc, const char *note)
{
	char buf[64];

	printf("repro: step %u %s%s%s%s%s: expected %s [%s], observed %s%s%s%s\n", i + 1,
	       op_name[s->op], s->object >= 0 ? " " : "", s->object >= 0 ? objects[s->object].name : "",
	       s->session ? " in " : "", s->session ? s->session : "", expected(s), s->rule,
	       describe(rc, buf, sizeof(buf)), note, detail[0] ? ": " : "", detail);
}

static void power_off(int failed)
{
	if (getpid() != 1)
		exit(failed ? 1 : 0);
	sync();
	syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		LINUX_REBOOT_CMD_POWER_OFF, NULL);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *kernel = argc > 1 ? argv[1] : "/boot/bzImage";
	const char *initrd = argc > 2 ? argv[2] : "/sys/firmware/initrd";
	char cmdline[CMDLINE_MAX] = "";
	long stage, failed, via;
	unsigned i;

	if (getpid() == 1) {
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
		mount("proc", "/proc", "proc", 0, NULL);
		mount("sysfs", "/sys", "sysfs", 0, NULL);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	read_cmdline(cmdline, sizeof(cmdline));
	stage = cmdline_value(cmdline, STAGE_KEY, 1);
	failed = cmdline_value(cmdline, FAILED_KEY, 0);
	initrd = readable_copy(initrd);
	for (i = 0; i < NR_OBJECTS; i++)
		obj_fd[i] = -1;
	printf("repro: %s, stage %ld\n", CASE_ID, stage);
	/* The kexec that brought us here could not say so before it went. */
	via = cmdline_value(cmdline, VIA_KEY, 0);
	if (via > 0 && via <= NR_STEPS)
		printf("repro: step %ld kexec: expected %s [%s], observed ok (now in stage %ld)%s\n",
		       via, expected(&steps[via - 1]), steps[via - 1].rule,
		       stage, steps[via - 1].expect == E_OK ? "" : "  <-- WRONG");
	if (FAIL_NTH_STEP && via == FAIL_NTH_STEP && cmdline_value(cmdline, ARMED_KEY, 0))
		printf("repro: step %ld kexec: the armed kexec went through: fail-nth %u was not "
		       "reached, or the freeze got over it\n", via, FAIL_NTH_N);
	if (FAIL_NTH_STEP && steps[FAIL_NTH_STEP - 1].stage == stage && fail_nth_setup()) {
		printf("repro: RESULT: CANNOT RUN: fail-nth: %s\n", detail);
		power_off(1);
	}
	for (i = 0; i < NR_STEPS; i++) {
		const struct repro_step *s = &steps[i];
		int rc;

		if (s->stage != stage)
			continue;
		if (i + 1 == FAIL_NTH_STEP)
			fail_nth_armed = FAIL_NTH_N;
#if RACE
		if (races(s->op)) {
			long changes;

			race_begin(s->op);
			rc = run_step(s, stage, failed, kernel, initrd, i + 1);
			changes = race_end();
			if (changes >= 0)
				printf("repro: step %u: the racers made %ld changes during the call, "
				       "the session racer %u\n",
				       i + 1, changes, atomic_load(&race_session_changes));
		} else
#endif
		rc = run_step(s, stage, failed, kernel, initrd, i + 1);
		/* A step that stopped before its call leaves nothing armed. */
		fail_nth_armed = 0;
		if (i + 1 == FAIL_NTH_STEP) {
			if (fail_nth_error[0]) {
				printf("repro: RESULT: CANNOT RUN: fail-nth: %s\n", fail_nth_error);
				power_off(1);
			}
			if (fail_nth_hit && rc < 0) {
				print_step(i, s, rc, "  (fail-nth injected; the step again, unarmed:)");
				rc = run_step(s, stage, failed, kernel, initrd, i + 1);
			} else {
				printf("repro: step %u: fail-nth %u %s\n", i + 1, FAIL_NTH_N,
				       fail_nth_hit ? "injected, and the call got over it"
						    : "not reached: the call reaches fewer injection points");
			}
		}
		print_step(i, s, rc, matches(s, rc) ? "" : "  <-- WRONG");
		if (!matches(s, rc) && !failed)
			failed = i + 1;
	}
	if (failed) {
		const struct repro_step *s = &steps[failed - 1];

		printf("repro: RESULT: FAIL at step %ld %s%s%s [%s]\n", failed, op_name[s->op],
		       s->object >= 0 ? " " : "", s->object >= 0 ? objects[s->object].name : "",
		       s->rule);
	} else {
		printf("repro: RESULT: PASS, every step as the contract demands\n");
	}
	power_off(failed != 0);
	return 0;
}
