/* Socket addresses of a file descriptor, read from the kernel's struct sock. */
#pragma once

#include "common.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

struct sock_key {
	__u64 sk;  /* the struct sock */
	__u64 ino; /* its inode number: a freed sock's address may serve a new socket */
};

/*
 * Sockets returned by accept/accept4: Falco's server role, which every later call on
 * the socket (read, write, send, recv, in whichever process holds it) reports.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, __u8);
} accepted SEC(".maps");

/*
 * Sockets that were servers before the sensor started, by inode (set by the loader from
 * /proc/PID/net: listening, accepted, bound without a peer; sensor/serversocks.py).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} server_inos SEC(".maps");

/* The socket behind fd and its map key; NULL when fd is no socket. */
static __always_inline struct sock *fd_sock(long fd, struct sock_key *key)
{
	struct file *f = fd_file(fd);
	if (!f)
		return NULL;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *so = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(so, sk);
	key->sk = (__u64)sk;
	key->ino = BPF_CORE_READ(ino, i_ino);
	return sk;
}

/* Remember the socket accept returned as fd (server role). */
static __always_inline void mark_accepted(long fd)
{
	struct sock_key key = {};
	__u8 one = 1;
	if (fd_sock(fd, &key))
		bpf_map_update_elem(&accepted, &key, &one, BPF_ANY);
}

/* A socket that connects is a client, whatever a bind before said (Falco's role). */
static __always_inline void mark_client(long fd)
{
	struct sock_key key = {};
	if (fd_sock(fd, &key)) {
		bpf_map_delete_elem(&accepted, &key);
		bpf_map_delete_elem(&server_inos, &key.ino);
	}
}

/* bind: a socket bound to a port (the user sockaddr's, not 0) is a server, as Falco has it. */
static __always_inline void mark_bound(long fd, __u64 addr, __u64 len)
{
	__u16 head[2] = {};
	if (!addr || len < sizeof(head) || bpf_probe_read_user(head, sizeof(head), (const void *)addr))
		return;
	if ((head[0] == AF_INET || head[0] == AF_INET6) && head[1])
		mark_accepted(fd);
}

/* Fill t from the socket behind fd; returns 0 when fd is not an inet socket. */
static __always_inline int sock_tuple(struct sock_tuple *t, long fd)
{
	struct sock_key key = {};
	struct sock *sk = fd_sock(fd, &key);
	if (!sk)
		return 0;
	t->role = bpf_map_lookup_elem(&accepted, &key) || bpf_map_lookup_elem(&server_inos, &key.ino)
			  ? ROLE_SERVER
			  : 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->family = family;
	t->type = BPF_CORE_READ(sk, sk_type);
	t->proto = BPF_CORE_READ(sk, sk_protocol);
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		__u32 saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->saddr, &saddr, 4);
		__builtin_memcpy(t->daddr, &daddr, 4);
	} else if (family == AF_INET6) {
		struct in6_addr saddr6 = {}, daddr6 = {};
		BPF_CORE_READ_INTO(&saddr6, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&daddr6, sk, __sk_common.skc_v6_daddr);
		__builtin_memcpy(t->saddr, &saddr6, 16);
		__builtin_memcpy(t->daddr, &daddr6, 16);
	} else {
		return 0;
	}
	return 1;
}

/* Copy a user sockaddr (at most STR_SHORT bytes) into buf. */
static __always_inline __u16 user_sockaddr(char *buf, __u64 ptr, __u64 len)
{
	if (!ptr || len == 0)
		return 0;
	if (len > 128)
		len = 128;
	if (bpf_probe_read_user(buf, len & 0xff, (const void *)ptr))
		return 0;
	return len;
}
