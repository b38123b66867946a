/* I/O data buffers, descriptor pairs and the small values some calls return through memory. */
#pragma once

#include "common.bpf.h"
#include "net.bpf.h"

#define PR_SET_NAME 15

/* I/O events reported so far per socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, __u32);
} sock_io SEC(".maps");

/*
 * Whether an I/O call on fd is reported: always for files and pipes; for a socket, only
 * its first cfg->sock_io_max calls (the start of a conversation is what content rules
 * look at), so a busy long-lived connection costs a map lookup per call, not an event.
 */
static __always_inline int io_wanted(long fd)
{
	struct sensor_cfg *c = get_cfg();
	__u32 max = c ? c->sock_io_max : 0;
	if (!max)
		return 1;
	struct file *f = fd_file(fd);
	if (!f)
		return 1;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return 1;
	struct socket *so = BPF_CORE_READ(f, private_data);
	struct sock_key key = {.sk = (__u64)BPF_CORE_READ(so, sk), .ino = BPF_CORE_READ(ino, i_ino)};
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
