/* Maps, the record header and the helpers every program of the sensor shares. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "record.h"
#include "kinds.h"

#define OVERLAYFS_MAGIC 0x794c7630
#define WALK_DEPTH 24

struct stash {
	__u64 a[6];
	__u32 kind;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 25); /* 32 MiB: seconds of bursts while the reader is busy */
} events SEC(".maps");

/*
 * A syscall's arguments from its enter to its exit, kept with the thread itself (task
 * local storage: a lookup costs a pointer walk, where a hash map's insert and delete
 * cost a hash and a lock per call; freed with the thread). kind 0: nothing stashed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stash);
} stashed SEC(".maps");

static __always_inline struct stash *stash_of_current(__u64 flags)
{
	return bpf_task_storage_get(&stashed, bpf_get_current_task_btf(), 0, flags);
}

/* Records lost: [0] the ring was full, [1] any other failure (e.g. lock contention). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sensor_cfg);
} cfg SEC(".maps");

/* Syscall numbers reported as generic events (1 = wanted), set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u8);
} generic_nrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* The dentry walk writes here first: a constant base keeps the verifier's work small. */
struct walk_buf {
	char path[STR_WALK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_buf);
} walkbuf SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

/* Where the next slot starts in sc->data, given the slots written so far. */
static __always_inline char *slot_at(struct scratch *sc, __u32 used)
{
	return sc->data + (used & (DATA_HALF - 1));
}

static __always_inline struct sensor_cfg *get_cfg(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&cfg, &zero);
}

/* True when the calling process is the agent itself (filtered in the kernel). */
static __always_inline int is_self(void)
{
	struct sensor_cfg *c = get_cfg();
	return c && c->self_tgid == (bpf_get_current_pid_tgid() >> 32);
}

#define EAGAIN 11
#define EINPROGRESS 115

static __always_inline void count_drop(long err)
{
	__u32 key = err == -EAGAIN ? 0 : 1;
	__u64 *n = bpf_map_lookup_elem(&drops, &key);
	if (n)
		*n += 1;
}

/*
 * Copy the record (header + `used` slot bytes) into the ring. The reader is woken only
 * by the record that carries the waiting data past a multiple of the threshold: a
 * wakeup costs a self-interrupt (~5-35 us in this kind of VM), and a reader with data
 * waiting is awake anyway (epoll reports a non-empty ring), so waking it on every record
 * of a backlog (the reader busy on a burst) only charged each traced call that cost.
 * The later multiples make up for a crossing two CPUs both missed.
 */
static __always_inline void submit(struct scratch *sc, __u32 used)
{
	struct sensor_cfg *c = get_cfg();
	__u64 threshold = c && c->wakeup_bytes ? c->wakeup_bytes : 1;
	/*
	 * Slots never add up to DATA_MAX; the mask only bounds the size for the verifier.
	 * It is applied in asm because clang drops it where it proves the bound itself.
	 */
	__u64 n = used;
	asm volatile("%0 &= 4095" : "+r"(n));
	__u32 size = sizeof(struct rec_hdr) + n;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = avail / threshold != (avail + size + 8) / threshold ? BPF_RB_FORCE_WAKEUP
									   : BPF_RB_NO_WAKEUP;
	long err = bpf_ringbuf_output(&events, sc, size, flags);
	if (err)
		count_drop(err);
}

/* The task's pointers below are walked by direct (BTF) loads: see fd_file. */
static __always_inline __u32 tty_nr(struct task_struct *t)
{
	struct tty_struct *tty = t->signal->tty;
	if (!tty)
		return 0;
	__u32 major = tty->driver->major;
	__u32 minor = tty->driver->minor_start + tty->index;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static __always_inline __u32 task_vpid(struct task_struct *t)
{
	struct pid *p = t->group_leader->thread_pid;
	unsigned int level = p->level;
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[level & 31]);
	return up.nr;
}

/* The header fields read from task t (the current task, or a child being forked). */
static __always_inline void fill_task(struct rec_hdr *h, struct task_struct *t, __u32 kind, __s64 res)
{
	const struct cred *cr = t->cred;

	h->ts = bpf_ktime_get_boot_ns();
	h->res = res;
	h->kind = kind;
	h->cpu = bpf_get_smp_processor_id();
	h->ppid = t->real_parent->tgid;
	h->uid = cr->uid.val;
	h->gid = cr->gid.val;
	h->euid = cr->euid.val;
	h->egid = cr->egid.val;
	h->cap_eff = cr->cap_effective.val;
	h->cap_perm = cr->cap_permitted.val;
	h->loginuid = t->loginuid.val;
	h->start_ns = t->group_leader->start_boottime;
	h->tty = tty_nr(t);
	h->vpid = task_vpid(t);
	h->flags = 0;
	h->slen[0] = h->slen[1] = h->slen[2] = h->slen[3] = 0;
	h->nr = 0;
}

static __always_inline void fill_hdr(struct rec_hdr *h, __u32 kind, __s64 res)
{
	__u64 id = bpf_get_current_pid_tgid();

	fill_task(h, bpf_get_current_task_btf(), kind, res);
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* The header of a record about `child` (just forked), written while its parent runs. */
static __always_inline void fill_hdr_child(struct rec_hdr *h, struct task_struct *child, __u32 kind)
{
	fill_task(h, child, kind, 0);
	h->cgroup_id = BPF_CORE_READ(child, cgroups, dfl_cgrp, kn, id);
	h->pid = child->tgid;
	h->tid = child->pid;
	bpf_probe_read_kernel(h->comm, sizeof(h->comm), child->comm);
}

/*
 * Write the path of (dentry, mnt) relative to the task's root into buf (STR_WALK bytes)
 * as NUL-terminated components, leaf first; user space reverses them.
 */
static __always_inline __u16 walk_path(char *buf, struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = BPF_CORE_READ(t, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(t, fs, root.mnt);
	struct mount *mnt = (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	__u32 off = 0;
	int whole = 0; /* reached the root: a walk cut short would read as a wrong path */

	for (int i = 0; i < WALK_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			whole = 1;
			break;
		}
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
			if (up == mnt || !up) {
				whole = 1;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = (struct vfsmount *)((void *)up + bpf_core_field_offset(struct mount, mnt));
			continue;
		}
		if (off > STR_WALK / 2)
			break;
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		long n = bpf_probe_read_kernel_str(buf + (off & (STR_WALK / 2 - 1)), STR_WALK / 2, name);
		if (n <= 0)
			break;
		off += n;
		dentry = parent;
	}
	if (!whole)
		return 0; /* too deep or too long: user space uses the path as given */
	if (off == 0) {
		buf[0] = 0; /* the root itself: one empty component */
		return 1;
	}
	return off > STR_WALK ? STR_WALK : off;
}

/*
 * The open file behind fd of the current task. The task's own pointers are walked by
 * direct (BTF) loads, a few ns each, where every bpf_probe_read hop is a helper call:
 * this runs on every traced I/O call.
 */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = t->files->fdt;
	struct file **fds = fdt->fd;
	struct file *f = NULL;
	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Walk (dentry, mnt) and copy the result into the slot at dst; returns its length. */
static __always_inline __u16 put_walk(char *dst, struct dentry *dentry, struct vfsmount *mnt)
{
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&walkbuf, &zero);
	if (!w)
		return 0;
	__u32 n = walk_path(w->path, dentry, mnt);
	if (n == 0 || n > STR_WALK)
		return 0;
	__u64 len = n;
	asm volatile("%0 &= 1023" : "+r"(len)); /* a bound clang cannot drop (see submit) */
	if (bpf_probe_read_kernel(dst, len, w->path))
		return 0;
	return n;
}

static __always_inline __u16 walk_fd(char *buf, long fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return 0;
	return put_walk(buf, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

static __always_inline __u16 user_str(char *buf, __u64 ptr)
{
	if (!ptr)
		return 0;
	long n = bpf_probe_read_user_str(buf, STR_SHORT, (const void *)ptr);
	return n > 0 ? n : 0;
}

/*
 * The bytes used so far, read back from the map: to the verifier this is one unknown
 * bounded value whatever path produced it, so the states before a dentry walk prune
 * instead of multiplying (two walks in one program would exceed its budget).
 */
static __always_inline __u32 slots_used(struct scratch *sc)
{
	return (__u32)sc->h.slen[0] + sc->h.slen[1] + sc->h.slen[2] + sc->h.slen[3];
}

/* Append one slot: `n` is its length; updates slen[i] and the running total. */
#define PUT_SLOT(sc, used, i, n)                \
	do {                                    \
		__u16 _n = (n);                 \
		(sc)->h.slen[i] = _n;           \
		(used) += _n;                   \
	} while (0)
