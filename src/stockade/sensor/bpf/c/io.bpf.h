/* I/O data buffers, descriptor pairs and the small values some calls return through memory. */
#pragma once

#include "common.bpf.h"
#include "net.bpf.h"

#define PR_SET_NAME 15

/* A kernel pointer read as a plain number, typed again for direct (BTF) loads. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* I/O events reported so far per socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, __u32);
} sock_io SEC(".maps");

/* Descriptor classes of an I/O call's fd (io_drop holds the classes dropped per kind). */
#define IOF_INET 1  /* AF_INET, AF_INET6 sockets: fd.typechar 4, 6 */
#define IOF_SOCK 2  /* other sockets: u */
#define IOF_PIPE 4  /* p */
#define IOF_FILE 8  /* regular files and devices: f */
#define IOF_DIR 16  /* d */
#define IOF_OTHER 32 /* no open fd, anonymous inodes (eventfd, epoll ...) */
/* io_drop's slot 0 (no kind has id 0): the classes every socket-layer kind drops */
#define IO_DROP_SOCKET_LAYER 0
#define S_IFIFO 0010000
#define S_IFCHR 0020000
#define S_IFDIR 0040000
#define S_IFBLK 0060000
#define S_IFREG 0100000

/* Per event kind: the descriptor classes whose I/O calls no rule can match (set by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} io_drop SEC(".maps");

static __always_inline __u32 file_class(__u32 fmt)
{
	switch (fmt) {
	case S_IFIFO:
		return IOF_PIPE;
	case S_IFREG: case S_IFCHR: case S_IFBLK:
		return IOF_FILE;
	case S_IFDIR:
		return IOF_DIR;
	}
	return IOF_OTHER;
}

/* Counts one more call on a socket's conversation in `sock_io`: true while under `max`. */
static __always_inline int sock_io_counted(struct sock *sk, __u64 ino, __u32 max)
{
	struct sock_key key = {.sk = (__u64)sk, .ino = ino};
	__u32 *n = bpf_map_lookup_elem(&sock_io, &key);
	if (!n) {
		__u32 one = 1;
		bpf_map_update_elem(&sock_io, &key, &one, BPF_ANY);
		return 1;
	}
	if (*n >= max)
		return 0;
	__sync_fetch_and_add(n, 1);
	return 1;
}

/*
 * Whether an I/O call of `kind` on fd is reported: not when no rule can match its
 * descriptor's class (io_drop); on a socket, with `counted`, only its first
 * c->sock_io_max calls (the start of a conversation is what content rules look at), so
 * a busy long-lived connection costs a map lookup per call, not an event. A dup is
 * filtered by class only (`counted` 0): it is no conversation.
 */
static __always_inline int io_wanted(struct sensor_cfg *c, long fd, __u32 kind, int counted)
{
	__u8 *dropped = bpf_map_lookup_elem(&io_drop, &kind);
	__u32 drop = dropped ? *dropped : 0;
	__u32 max = counted ? c->sock_io_max : 0;
	if (!drop && !max)
		return 1;
	struct file *raw = fd_file(fd);
	if (!raw)
		return !(drop & IOF_OTHER);
	/* direct (BTF) loads from here on: see fd_file */
	struct file *f = bpf_rdonly_cast(raw, bpf_core_type_id_kernel(struct file));
	struct inode *ino = f->f_inode;
	__u32 fmt = ino->i_mode & S_IFMT;
	if (fmt != S_IFSOCK)
		return !(drop & file_class(fmt));
	struct socket *so = bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
	struct sock *sk = so->sk;
	if (drop) {
		__u16 family = sk->__sk_common.skc_family;
		if (drop & (family == AF_INET || family == AF_INET6 ? IOF_INET : IOF_SOCK))
			return 0;
	}
	if (!max)
		return 1;
	return sock_io_counted(sk, ino->i_ino, max);
}

/* Copy the first min(len, snaplen) bytes of a user buffer into buf; returns the count. */
static __always_inline __u16 user_data(char *buf, __u64 ptr, __s64 len)
{
	struct sensor_cfg *c = get_cfg();
	__u64 n = c ? c->snaplen : 0;
	if (!ptr || len <= 0)
		return 0;
	if ((__u64)len < n)
		n = len;
	if (n > SNAP_MAX)
		n = SNAP_MAX;
	asm volatile("%0 &= 2047" : "+r"(n)); /* a bound clang cannot drop (see submit) */
	if (bpf_probe_read_user(buf, n, (const void *)ptr))
		return 0;
	return n;
}

/* The data of the first iovec of a user iovec array (len bytes were transferred in all). */
static __always_inline __u16 iov_data(char *buf, __u64 iov_ptr, __s64 len)
{
	struct iovec iov = {};
	if (!iov_ptr || bpf_probe_read_user(&iov, sizeof(iov), (const void *)iov_ptr))
		return 0;
	if ((__u64)len > iov.iov_len)
		len = iov.iov_len;
	return user_data(buf, (__u64)iov.iov_base, len);
}

/* The file type and permission bits of fd (0 when fd is not open). */
static __always_inline __u32 fd_mode(long fd)
{
	struct file *f = fd_file(fd);
	return f ? BPF_CORE_READ(f, f_inode, i_mode) : 0;
}

/* pipe/pipe2/socketpair: the two new fds into a[4], a[5]; with_ino: the pipe's inode in a[3]. */
static __always_inline void fd_pair(__u64 *a, __u64 ptr, __s64 ret, int with_ino)
{
	int fds[2] = {-1, -1};
	if (ret == 0 && ptr)
		bpf_probe_read_user(fds, sizeof(fds), (const void *)ptr);
	a[4] = (__u32)fds[0];
	a[5] = (__u32)fds[1];
	if (with_ino) {
		struct file *f = fd_file(fds[0]);
		a[3] = f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
	}
}

/* get/setsockopt: an int option value into a[3]; getsockopt's returned length into a[4]. */
static __always_inline void sockopt_value(__u64 *a, int get, __s64 ret)
{
	int len = 0, val = 0;
	if (get) {
		if (a[4])
			bpf_probe_read_user(&len, sizeof(len), (const void *)a[4]);
	} else {
		len = a[4];
	}
	if (ret == 0 && a[3] && len >= 4)
		bpf_probe_read_user(&val, sizeof(val), (const void *)a[3]);
	a[3] = (__u32)val;
	a[4] = (__u32)len;
}

/* Two u64 (a struct rlimit) read from user memory into a[i], a[i + 1]; all ones when absent. */
static __always_inline void read_pair(__u64 *a, int i, __u64 ptr)
{
	__u64 v[2] = {~0ULL, ~0ULL};
	if (ptr)
		bpf_probe_read_user(v, sizeof(v), (const void *)ptr);
	a[i & 3] = v[0];
	a[(i & 3) + 1] = v[1];
}

/*
 * The open family: the new file's device (the kernel's s_dev) and inode into a[4], a[5]
 * (0 when not read) and its overlayfs layer into the flags (Falco's fd.dev, fd.ino,
 * fd.is_upper_layer, fd.is_lower_layer).
 */
static __always_inline void file_identity(struct rec_hdr *h, long fd)
{
	h->a[4] = h->a[5] = 0;
	struct file *raw = fd_file(fd);
	if (!raw)
		return;
	struct file *f = bpf_rdonly_cast(raw, bpf_core_type_id_kernel(struct file));
	struct inode *ino = f->f_inode;
	struct super_block *sb = ino->i_sb;
	h->a[4] = sb->s_dev;
	h->a[5] = ino->i_ino;
	if (sb->s_magic == OVERLAYFS_MAGIC) {
		/* a plain pointer again: container_of is arithmetic the verifier refuses on BTF ones */
		struct inode *plain = (struct inode *)(unsigned long)ino;
		struct ovl_inode *oi = container_of(plain, struct ovl_inode, vfs_inode);
		h->flags |= BPF_CORE_READ(oi, __upperdentry) ? REC_F_FD_UPPER : REC_F_FD_LOWER;
	}
}

#define POLL_FDS_MAX 16 /* pollfd entries kept per poll/ppoll, 8 bytes each */

/* The first pollfd entries of a poll/ppoll, with the revents the call left in them. */
static __always_inline __u16 user_pollfds(char *buf, __u64 ptr, __u64 nfds)
{
	if (!ptr || !nfds)
		return 0;
	if (nfds > POLL_FDS_MAX)
		nfds = POLL_FDS_MAX;
	__u64 n = nfds * 8;
	asm volatile("%0 &= 255" : "+r"(n)); /* a bound clang cannot drop (see submit) */
	if (bpf_probe_read_user(buf, n, (const void *)ptr))
		return 0;
	return n;
}
