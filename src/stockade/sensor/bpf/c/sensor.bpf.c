// SPDX-License-Identifier: GPL-2.0
/*
 * Stockade's kernel sensor: one enter/exit pair per system call the rules need (the
 * loader disables the others before load), plus sched_process_exec/exit. Enter stashes
 * the arguments per thread; exit emits one record with the result.
 *
 * Each pair exists twice: as BPF trampolines on the call's entry function (fenter_X /
 * fexit_X, the default where the kernel has them) and as syscall tracepoints (enter_X /
 * exit_X, the fallback). Attaching any syscall tracepoint turns on the kernel's slow
 * syscall path for every task; a trampoline costs only the calls it is on.
 */
#include "common.bpf.h"
#include "net.bpf.h"
#include "io.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The number and the six arguments of the system call the task is in. */
static __always_inline __u32 syscall_args(const struct pt_regs *regs, __u64 *a)
{
#if defined(__TARGET_ARCH_x86)
	a[0] = regs->di;
	a[1] = regs->si;
	a[2] = regs->dx;
	a[3] = regs->r10;
	a[4] = regs->r8;
	a[5] = regs->r9;
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	a[0] = regs->orig_x0; /* x0 holds the result once the call returns */
	for (int i = 1; i < 6; i++)
		a[i] = regs->regs[i];
	return regs->syscallno;
#else
	return ~0u; /* no socket-layer or trampoline path: the loader keeps the tracepoints */
#endif
}

/* The entry function of system call `name`, which the trampoline programs attach to. */
#if defined(__TARGET_ARCH_arm64)
#define SYS_PREFIX "__arm64_sys_"
#else
#define SYS_PREFIX "__x64_sys_"
#endif

static __always_inline struct stash *stash_new(__u32 kind)
{
	if (is_self())
		return NULL;
	struct stash *s = stash_of_current(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (s)
		s->kind = kind;
	return s;
}

/* Stash from a syscall tracepoint's record. */
static __always_inline int stash_tp(struct trace_event_raw_sys_enter *ctx, __u32 kind)
{
	struct stash *s = stash_new(kind);
	/*
	 * probe_read, not direct context loads: a syscall's record holds only its own
	 * arguments, and attaching a program that reads past it fails with EACCES.
	 */
	if (s)
		bpf_probe_read_kernel(s->a, sizeof(s->a), ctx->args);
	return 0;
}

/* Stash from the user registers the entry function gets (the trampoline path). */
static __always_inline int stash_regs(const struct pt_regs *regs, __u32 kind)
{
	struct stash *s = stash_new(kind);
	if (s)
		syscall_args(regs, s->a);
	return 0;
}

/* Put a struct sock_tuple of fd into the next slot (slot 1); 0 if fd is no inet socket. */
static __always_inline __u16 put_tuple(struct scratch *sc, __u32 used, long fd)
{
	struct sock_tuple t = {};
	if (!sock_tuple(&t, fd))
		return 0;
	if (bpf_probe_read_kernel(slot_at(sc, used), sizeof(t), &t))
		return 0;
	sc->h.flags |= REC_F_TUPLE;
	return sizeof(t);
}

/* The socket tuple a close's enter read (map `closing`), into slot 1. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct sock_tuple);
} closing SEC(".maps");

static __always_inline __u16 closed_tuple(struct scratch *sc, __u32 used)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock_tuple *t = bpf_map_lookup_elem(&closing, &id);
	if (!t)
		return 0;
	if (bpf_probe_read_kernel(slot_at(sc, used), sizeof(*t), t)) {
		bpf_map_delete_elem(&closing, &id);
		return 0;
	}
	bpf_map_delete_elem(&closing, &id);
	sc->h.flags |= REC_F_TUPLE;
	return sizeof(*t);
}

/*
 * Per-kind slots, written in slot order (0, 1, 2) so each starts where the previous
 * ended; `kind` is a constant at each call site, so only one branch is compiled in.
 * Returns the bytes used after the header.
 */
static __always_inline __u32 fill_sys(struct scratch *sc, __u32 kind, __s64 ret)
{
	__u64 *a = sc->h.a;
	__u32 used = 0;
	switch (kind) {
	case K_OPEN: case K_CREAT: case K_UNLINK: case K_CHMOD: case K_CHOWN: case K_LCHOWN:
	case K_MKDIR: case K_UMOUNT2: case K_CHROOT: case K_MEMFD_CREATE: case K_EXECVE:
	case K_RMDIR: case K_TRUNCATE: case K_CHDIR:
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[0]));
		break;
	case K_PRCTL:
		if (a[0] == PR_SET_NAME)
			PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[1]));
		break;
	case K_WRITE: case K_PWRITE: case K_READ: case K_PREAD: case K_SENDTO: case K_RECVFROM:
		PUT_SLOT(sc, used, 0, user_data(slot_at(sc, used), a[1], ret));
		PUT_SLOT(sc, used, 1, put_tuple(sc, used, a[0]));
		if (kind == K_SENDTO)
			PUT_SLOT(sc, used, 2, user_sockaddr(slot_at(sc, used), a[4], a[5]));
		a[1] = fd_mode(a[0]);
		break;
	case K_WRITEV: case K_PWRITEV: case K_READV: case K_PREADV:
		PUT_SLOT(sc, used, 0, iov_data(slot_at(sc, used), a[1], ret));
		PUT_SLOT(sc, used, 1, put_tuple(sc, used, a[0]));
		a[1] = fd_mode(a[0]);
		break;
	case K_SENDMSG: case K_RECVMSG: {
		struct user_msghdr mh = {};
		if (a[1])
			bpf_probe_read_user(&mh, sizeof(mh), (const void *)a[1]);
		PUT_SLOT(sc, used, 0, iov_data(slot_at(sc, used), (__u64)mh.msg_iov, ret));
		PUT_SLOT(sc, used, 1, put_tuple(sc, used, a[0]));
		if (kind == K_SENDMSG)
			PUT_SLOT(sc, used, 2,
				 user_sockaddr(slot_at(sc, used), (__u64)mh.msg_name, mh.msg_namelen));
		a[1] = fd_mode(a[0]);
		break;
	}
	case K_SENDMMSG: case K_RECVMMSG: {
		/* The first message of the vector: its header, then its length (struct mmsghdr). */
		struct user_msghdr mh = {};
		__u32 len = 0;
		if (a[1] && ret > 0) {
			bpf_probe_read_user(&mh, sizeof(mh), (const void *)a[1]);
			bpf_probe_read_user(&len, sizeof(len), (const void *)(a[1] + sizeof(mh)));
		}
		PUT_SLOT(sc, used, 0, iov_data(slot_at(sc, used), (__u64)mh.msg_iov, len));
		PUT_SLOT(sc, used, 1, put_tuple(sc, used, a[0]));
		if (kind == K_SENDMMSG)
			PUT_SLOT(sc, used, 2,
				 user_sockaddr(slot_at(sc, used), (__u64)mh.msg_name, mh.msg_namelen));
		a[1] = fd_mode(a[0]);
		a[2] = len;
		break;
	}
	case K_OPENAT2: {
		__u64 how[2] = {};
		if (a[2] && !bpf_probe_read_user(how, sizeof(how), (const void *)a[2])) {
			a[2] = how[0]; /* open_how.flags */
			a[3] = how[1]; /* open_how.mode */
		} else {
			a[2] = a[3] = 0;
		}
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[1]));
		break;
	}
	case K_OPENAT: case K_UNLINKAT: case K_FCHMODAT: case K_FCHMODAT2: case K_FCHOWNAT:
	case K_MKDIRAT: case K_EXECVEAT: case K_FINIT_MODULE:
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[1]));
		break;
	case K_RENAME: case K_LINK: case K_SYMLINK: case K_MOUNT:
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[0]));
		PUT_SLOT(sc, used, 1, user_str(slot_at(sc, used), a[1]));
		break;
	case K_RENAMEAT: case K_RENAMEAT2: case K_LINKAT:
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[1]));
		PUT_SLOT(sc, used, 1, user_str(slot_at(sc, used), a[3]));
		break;
	case K_SYMLINKAT:
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[0]));
		PUT_SLOT(sc, used, 1, user_str(slot_at(sc, used), a[2]));
		break;
	case K_INIT_MODULE:
		PUT_SLOT(sc, used, 0, user_str(slot_at(sc, used), a[2]));
		break;
	case K_CONNECT: case K_BIND:
		PUT_SLOT(sc, used, 0, user_sockaddr(slot_at(sc, used), a[1], a[2]));
		break;
	case K_POLL:
		PUT_SLOT(sc, used, 0, user_pollfds(slot_at(sc, used), a[0], a[1]));
		break;
	case K_PPOLL: {
		/* the signal mask into a[4], the timeout (a timespec) into a[2], a[3] */
		__u64 mask = 0;
		if (a[3])
			bpf_probe_read_user(&mask, sizeof(mask), (const void *)a[3]);
		a[4] = mask;
		read_pair(a, 2, a[2]);
		PUT_SLOT(sc, used, 0, user_pollfds(slot_at(sc, used), a[0], a[1]));
		break;
	}
	}
	switch (kind) {
	case K_OPEN: case K_OPENAT: case K_OPENAT2: case K_CREAT: case K_MEMFD_CREATE:
		file_identity(&sc->h, ret);
		if (ret >= 0)
			PUT_SLOT(sc, used, 2, walk_fd(slot_at(sc, used), ret));
		break;
	case K_FCHMOD: case K_FCHOWN: case K_FTRUNCATE: case K_FCHDIR:
		PUT_SLOT(sc, used, 2, walk_fd(slot_at(sc, used), a[0]));
		break;
	case K_CLOSE:
		PUT_SLOT(sc, used, 1, closed_tuple(sc, used));
		break;
	case K_DUP: case K_DUP2: case K_DUP3:
		PUT_SLOT(sc, used, 1, put_tuple(sc, used, a[0]));
		a[5] = fd_mode(a[0]);
		break;
	case K_PIPE: case K_PIPE2: case K_SOCKETPAIR:
		fd_pair(a, kind == K_SOCKETPAIR ? a[3] : a[0], ret, kind != K_SOCKETPAIR);
		break;
	case K_GETSOCKOPT: case K_SETSOCKOPT:
		sockopt_value(a, kind == K_GETSOCKOPT, ret);
		break;
	case K_SETRLIMIT:
		read_pair(a, 2, a[1]);
		break;
	case K_PRLIMIT:
		read_pair(a, 4, a[2]);
		break;
	case K_MOUNT:
		PUT_SLOT(sc, used, 2, user_str(slot_at(sc, used), a[2]));
		break;
	case K_CONNECT: case K_LISTEN: case K_BIND:
		if (kind == K_CONNECT && (ret == 0 || ret == -EINPROGRESS))
			mark_client(a[0]);
		else if (kind == K_LISTEN && ret == 0)
			mark_accepted(a[0]);
		else if (kind == K_BIND && ret == 0)
			mark_bound(a[0], a[1], a[2]);
		PUT_SLOT(sc, used, 1, put_tuple(sc, used, a[0]));
		break;
	case K_ACCEPT: case K_ACCEPT4:
		if (ret >= 0) {
			mark_accepted(ret);
			PUT_SLOT(sc, used, 1, put_tuple(sc, used, ret));
		}
		break;
	}
	return used;
}

/*
 * Each new process's parent, recorded at the fork (in the forker): the new process
 * reports its clone on its first return, and by then a parent that exited at once (a
 * daemon forking itself into the background) has been replaced by the reaper.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} forked_by SEC(".maps");

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid = BPF_CORE_READ(child, pid);
	__u32 tgid = BPF_CORE_READ(child, tgid);
	if (pid != tgid)
		return 0; /* a new thread: not reported */
	/* its parent as set by the fork (the forker's own parent under CLONE_PARENT, as
	 * runc's stages are made) */
	__u32 by = BPF_CORE_READ(child, real_parent, tgid);
	bpf_map_update_elem(&forked_by, &pid, &by, BPF_ANY);
	return 0;
}

#define PF_KTHREAD 0x00200000

/* The clone family call a task is in, by its number (0: none; e.g. a kernel thread). */
static __always_inline __u32 fork_kind(__u32 nr)
{
#if defined(__TARGET_ARCH_x86)
	switch (nr) {
	case 56: return K_CLONE;
	case 57: return K_FORK;
	case 58: return K_VFORK;
	case 435: return K_CLONE3;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (nr) {
	case 220: return K_CLONE;
	case 435: return K_CLONE3;
	}
#endif
	return 0;
}

/*
 * The trampoline path's clone event: a trampoline's exit runs in the parent only, so the
 * new process is reported here, at the fork, with its own identity and the parent the
 * fork gave it (the record the tracepoint path has the child write on its first return:
 * result 0, no arguments). New threads and kernel threads are not reported.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork_report, struct task_struct *parent, struct task_struct *child)
{
	if (child->pid != child->tgid)
		return 0;
	struct task_struct *cur = bpf_get_current_task_btf();
	if (cur->flags & PF_KTHREAD)
		return 0;
	__u64 a[6] = {};
	__u32 kind = fork_kind(syscall_args((struct pt_regs *)bpf_task_pt_regs(cur), a));
	if (!kind)
		return 0;
	struct scratch *sc = get_scratch();
	if (!sc)
		return 0;
	fill_hdr_child(&sc->h, child, kind);
	__builtin_memset(sc->h.a, 0, sizeof(sc->h.a));
	submit(sc, 0);
	return 0;
}

static __always_inline int emit_exit(__s64 ret, __u32 kind, __u32 nr)
{
	int clone = kind == K_CLONE || kind == K_CLONE3 || kind == K_FORK || kind == K_VFORK;
	struct stash *s = stash_of_current(0);
	if (s && !s->kind)
		s = NULL;
	if (!s && !clone)
		return 0; /* first, as cheap as can be: most exits of I/O calls end here */
	if (s)
		s->kind = 0; /* taken: the next exit without an enter finds nothing */
	__u64 id = bpf_get_current_pid_tgid();
	/*
	 * clone/fork family: reported once, by the new process returning 0 (as the proc
	 * connector does), so the process tree sees one event per new process. The parent's
	 * return and new threads (tid != tgid) are not reported. A trampoline's exit never
	 * runs in the child (it returns through ret_from_fork): on_fork_report reports it.
	 */
	if (clone) {
		if (ret != 0 || (__u32)id != (id >> 32) || is_self())
			return 0;
		s = NULL;
	}
	/* A successful exec is reported by sched_process_exec with the new image. */
	if ((kind == K_EXECVE || kind == K_EXECVEAT) && ret == 0)
		return 0;
	struct scratch *sc = get_scratch();
	if (!sc)
		return 0;
	fill_hdr(&sc->h, kind, ret);
	if (!s) { /* the clone family: the forking parent, not today's reaper */
		__u32 pid = id >> 32;
		__u32 *by = bpf_map_lookup_elem(&forked_by, &pid);
		if (by) {
			sc->h.ppid = *by;
			bpf_map_delete_elem(&forked_by, &pid);
		}
	}
	sc->h.nr = nr;
	if (s)
		__builtin_memcpy(sc->h.a, s->a, sizeof(sc->h.a));
	else
		__builtin_memset(sc->h.a, 0, sizeof(sc->h.a));
	submit(sc, fill_sys(sc, kind, ret));
	return 0;
}

/*
 * Enter of an I/O or dup call: stashed only when its descriptor passes io_wanted. Every
 * such call of the host runs this, so argument 0 (the fd) is read first, alone: from the
 * tracepoint's record by a direct context load, or from the registers.
 */
static __always_inline int io_pass(long fd, __u32 kind, int counted)
{
	struct sensor_cfg *c = get_cfg();
	if (!c || c->self_tgid == (bpf_get_current_pid_tgid() >> 32))
		return 0;
	return io_wanted(c, fd, kind, counted);
}

static __always_inline int io_enter(struct trace_event_raw_sys_enter *ctx, __u32 kind, int counted)
{
	return io_pass(ctx->args[0], kind, counted) ? stash_tp(ctx, kind) : 0;
}

static __always_inline int io_enter_regs(const struct pt_regs *regs, __u32 kind, int counted)
{
	__u64 a[6] = {};
	syscall_args(regs, a);
	return io_pass(a[0], kind, counted) ? stash_regs(regs, kind) : 0;
}

/*
 * I/O calls whose rules want sockets only are reported from the socket layer instead of
 * a syscall tracepoint pair: sock_send_length and sock_recv_length fire inside the call,
 * for sockets alone, so the host's other reads and writes (files, pipes) run no program
 * at all, and a socket's call runs one program, not two. The call's number says which
 * call it is (sock_kinds, set by the loader; 0: not one of them, e.g. a splice or the
 * kernel's own sockets) and its registers hold the arguments the record carries.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u8);
} sock_kinds SEC(".maps");

static __always_inline int sock_emit(__u64 *args, __u32 kind, __s64 ret)
{
	struct scratch *sc = get_scratch();
	if (!sc)
		return 0;
	fill_hdr(&sc->h, kind, ret);
	__builtin_memcpy(sc->h.a, args, sizeof(sc->h.a));
	submit(sc, fill_sys(sc, kind, ret));
	return 0;
}

/*
 * Where a TCP send stands in its conversation, from the socket alone (no map, nothing
 * else read): 1 among its first c->sock_io_max calls, 0 past them, -1 not a TCP send.
 * A call is reported while the socket had sent fewer than sock_io_max data segments
 * (a call that is sent at once is one segment; a call still queued behind others has
 * not counted yet, so a corked conversation reports more calls, never fewer) and fewer
 * than sock_io_max * snaplen bytes (what that many calls would show at least). The
 * segment count is what stops a chatty request/response conversation (a few bytes a
 * call) after its first calls rather than after hundreds. A socket a process sends on is
 * a full one, so a TCP stream socket is a tcp_sock: read through bpf_rdonly_cast, which
 * the verifier turns into a plain move (bpf_skc_to_tcp_sock is a helper call, paid on
 * every send of the host).
 */
static __always_inline int tcp_send_start(struct sensor_cfg *c, struct sock *sk, int ret)
{
	__u32 max = c->sock_io_max;
	if (sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM)
		return -1;
	struct tcp_sock *tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	if (!max)
		return 1;
	__u64 before = tp->bytes_sent - (ret > 0 ? ret : 0);
	return tp->data_segs_out <= max && before < (__u64)max * (c->snaplen ? c->snaplen : 1);
}

/* Whether another socket's call, or a receive, is among its first ones (map `sock_io`). */
static __always_inline int sock_start(struct sensor_cfg *c, struct sock *sk)
{
	__u32 max = c->sock_io_max;
	if (!max)
		return 1;
	struct socket *so = sk->sk_socket;
	return sock_io_counted(sk, so->file->f_inode->i_ino, max);
}

static __always_inline int sock_call(struct sock *sk, int ret, int send)
{
	struct sensor_cfg *c = get_cfg();
	if (!c)
		return 0;
	/*
	 * Most sends are on a long TCP conversation: told first, from the socket alone,
	 * before the caller, any helper, map or register (this runs on every send of the host).
	 */
	int tcp = send ? tcp_send_start(c, sk, ret) : -1;
	if (!tcp)
		return 0;
	/* a socket class no socket-layer kind wants (a unix socket's send): before any helper */
	__u16 family = sk->__sk_common.skc_family;
	__u32 class = family == AF_INET || family == AF_INET6 ? IOF_INET : IOF_SOCK;
	__u32 slot = IO_DROP_SOCKET_LAYER;
	__u8 *unwanted = bpf_map_lookup_elem(&io_drop, &slot);
	if (unwanted && (*unwanted & class))
		return 0;
	if (c->self_tgid == (bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* a process's own socket: the kernel's (an NFS mount's ...) have no file */
	struct socket *so = sk->sk_socket;
	if (!so || !so->file)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 a[6] = {};
	__u32 nr = syscall_args(regs, a);
	__u8 *found = bpf_map_lookup_elem(&sock_kinds, &nr);
	if (!found || !*found)
		return 0;
	__u32 kind = *found;
	__u8 *dropped = bpf_map_lookup_elem(&io_drop, &kind);
	if (dropped && (*dropped & class))
		return 0;
	if (tcp < 0 && !sock_start(c, sk))
		return 0;
	switch (kind) { /* a constant kind per copy: fill_sys compiles one branch each */
	case K_WRITE:
		return sock_emit(a, K_WRITE, ret);
	case K_WRITEV:
		return sock_emit(a, K_WRITEV, ret);
	case K_SENDTO:
		return sock_emit(a, K_SENDTO, ret);
	case K_SENDMSG:
		return sock_emit(a, K_SENDMSG, ret);
	case K_READ:
		return sock_emit(a, K_READ, ret);
	case K_READV:
		return sock_emit(a, K_READV, ret);
	case K_RECVFROM:
		return sock_emit(a, K_RECVFROM, ret);
	case K_RECVMSG:
		return sock_emit(a, K_RECVMSG, ret);
	}
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_sock_send, struct sock *sk, int ret, int flags)
{
	return sock_call(sk, ret, 1);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_sock_recv, struct sock *sk, int ret, int flags)
{
	return sock_call(sk, ret, 0);
}

/*
 * The two pairs of one system call: tracepoints (enter_X, exit_X) and trampolines on its
 * entry function (fenter_X, fexit_X, whose exit gets the result as its last argument).
 */
#define SYSCALL_PAIRS(name, KIND, ENTER_TP, ENTER_REGS)                              \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                      \
	{                                                                            \
		return ENTER_TP;                                                     \
	}                                                                            \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                   \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                        \
	{                                                                            \
		return emit_exit(ctx->ret, KIND, 0);                                 \
	}                                                                            \
	SEC("fentry/" SYS_PREFIX #name)                                              \
	int BPF_PROG(fenter_##name, const struct pt_regs *regs)                      \
	{                                                                            \
		return ENTER_REGS;                                                   \
	}                                                                            \
	SEC("fexit/" SYS_PREFIX #name)                                               \
	int BPF_PROG(fexit_##name, const struct pt_regs *regs, long ret)             \
	{                                                                            \
		return emit_exit(ret, KIND, 0);                                      \
	}

#define SYSCALL_IO(name, KIND) \
	SYSCALL_PAIRS(name, KIND, io_enter(ctx, KIND, 1), io_enter_regs(regs, KIND, 1))

/* A dup family call: filtered on its old fd's class, as an I/O call is, but not counted. */
#define SYSCALL_DUP(name, KIND) \
	SYSCALL_PAIRS(name, KIND, io_enter(ctx, KIND, 0), io_enter_regs(regs, KIND, 0))

#define SYSCALL(name, KIND) SYSCALL_PAIRS(name, KIND, stash_tp(ctx, KIND), stash_regs(regs, KIND))

SYSCALL(clone, K_CLONE)
SYSCALL(clone3, K_CLONE3)
SYSCALL(fork, K_FORK)
SYSCALL(vfork, K_VFORK)
SYSCALL(execve, K_EXECVE)
SYSCALL(execveat, K_EXECVEAT)
SYSCALL(open, K_OPEN)
SYSCALL(openat, K_OPENAT)
SYSCALL(openat2, K_OPENAT2)
SYSCALL(creat, K_CREAT)
SYSCALL(unlink, K_UNLINK)
SYSCALL(unlinkat, K_UNLINKAT)
SYSCALL(rename, K_RENAME)
SYSCALL(renameat, K_RENAMEAT)
SYSCALL(renameat2, K_RENAMEAT2)
SYSCALL(chmod, K_CHMOD)
SYSCALL(fchmod, K_FCHMOD)
SYSCALL(fchmodat, K_FCHMODAT)
SYSCALL(chown, K_CHOWN)
SYSCALL(lchown, K_LCHOWN)
SYSCALL(fchown, K_FCHOWN)
SYSCALL(fchownat, K_FCHOWNAT)
SYSCALL(link, K_LINK)
SYSCALL(linkat, K_LINKAT)
SYSCALL(symlink, K_SYMLINK)
SYSCALL(symlinkat, K_SYMLINKAT)
SYSCALL(mkdir, K_MKDIR)
SYSCALL(mkdirat, K_MKDIRAT)
SYSCALL(socket, K_SOCKET)
SYSCALL(connect, K_CONNECT)
SYSCALL(accept, K_ACCEPT)
SYSCALL(accept4, K_ACCEPT4)
SYSCALL(bind, K_BIND)
SYSCALL(listen, K_LISTEN)
SYSCALL(setuid, K_SETUID)
SYSCALL(setgid, K_SETGID)
SYSCALL(setreuid, K_SETREUID)
SYSCALL(setregid, K_SETREGID)
SYSCALL(setresuid, K_SETRESUID)
SYSCALL(setresgid, K_SETRESGID)
SYSCALL(capset, K_CAPSET)
SYSCALL(ptrace, K_PTRACE)
SYSCALL(mount, K_MOUNT)
SYSCALL(umount, K_UMOUNT2)
SYSCALL(unshare, K_UNSHARE)
SYSCALL(setns, K_SETNS)
SYSCALL(init_module, K_INIT_MODULE)
SYSCALL(finit_module, K_FINIT_MODULE)
SYSCALL(bpf, K_BPF)
SYSCALL(memfd_create, K_MEMFD_CREATE)
SYSCALL(userfaultfd, K_USERFAULTFD)
SYSCALL(chroot, K_CHROOT)
SYSCALL(rmdir, K_RMDIR)
SYSCALL(truncate, K_TRUNCATE)
SYSCALL(ftruncate, K_FTRUNCATE)
SYSCALL(fchmodat2, K_FCHMODAT2)
SYSCALL(chdir, K_CHDIR)
SYSCALL(fchdir, K_FCHDIR)
SYSCALL_DUP(dup, K_DUP)
SYSCALL_DUP(dup2, K_DUP2)
SYSCALL_DUP(dup3, K_DUP3)
SYSCALL(pipe, K_PIPE)
SYSCALL(pipe2, K_PIPE2)
/*
 * close: the fd is gone at exit, so its mode (a[1]) and, for an inet socket, its tuple
 * (map `closing`, per thread) are read at enter; the exit puts the tuple in slot 1.
 */
static __always_inline int close_enter(void)
{
	struct stash *s = stash_of_current(0);
	if (!s || s->kind != K_CLOSE)
		return 0;
	long fd = s->a[0];
	__u64 id = bpf_get_current_pid_tgid();
	struct sock_tuple t = {};
	s->a[1] = fd_mode(fd);
	if (sock_tuple(&t, fd))
		bpf_map_update_elem(&closing, &id, &t, BPF_ANY);
	else
		bpf_map_delete_elem(&closing, &id);
	return 0;
}

SYSCALL_PAIRS(close, K_CLOSE, (stash_tp(ctx, K_CLOSE), close_enter()),
	      (stash_regs(regs, K_CLOSE), close_enter()))
SYSCALL(fcntl, K_FCNTL)
SYSCALL(splice, K_SPLICE)
SYSCALL_IO(read, K_READ)
SYSCALL_IO(write, K_WRITE)
SYSCALL_IO(pread64, K_PREAD)
SYSCALL_IO(pwrite64, K_PWRITE)
SYSCALL_IO(readv, K_READV)
SYSCALL_IO(writev, K_WRITEV)
SYSCALL_IO(preadv, K_PREADV)
SYSCALL_IO(pwritev, K_PWRITEV)
SYSCALL(socketpair, K_SOCKETPAIR)
SYSCALL(shutdown, K_SHUTDOWN)
SYSCALL(getsockopt, K_GETSOCKOPT)
SYSCALL(setsockopt, K_SETSOCKOPT)
SYSCALL_IO(sendto, K_SENDTO)
SYSCALL_IO(sendmsg, K_SENDMSG)
SYSCALL_IO(recvfrom, K_RECVFROM)
SYSCALL_IO(recvmsg, K_RECVMSG)
SYSCALL_IO(sendmmsg, K_SENDMMSG)
SYSCALL_IO(recvmmsg, K_RECVMMSG)
SYSCALL(prctl, K_PRCTL)
SYSCALL(seccomp, K_SECCOMP)
SYSCALL(setrlimit, K_SETRLIMIT)
SYSCALL(prlimit64, K_PRLIMIT)
SYSCALL(setsid, K_SETSID)
SYSCALL(setpgid, K_SETPGID)
SYSCALL(io_uring_setup, K_IO_URING_SETUP)
SYSCALL(kill, K_KILL)
SYSCALL(tkill, K_TKILL)
SYSCALL(tgkill, K_TGKILL)
SYSCALL(pidfd_open, K_PIDFD_OPEN)
SYSCALL(pidfd_getfd, K_PIDFD_GETFD)
SYSCALL(process_vm_readv, K_PROCESS_VM_READV)
SYSCALL(process_vm_writev, K_PROCESS_VM_WRITEV)
SYSCALL(mmap, K_MMAP)
SYSCALL(mprotect, K_MPROTECT)
SYSCALL(poll, K_POLL)
SYSCALL(ppoll, K_PPOLL)

static __always_inline int generic_wanted(long nr)
{
	__u32 key = nr;
	__u8 *on = bpf_map_lookup_elem(&generic_nrs, &key);
	return on && *on;
}

/*
 * Every other syscall the rules name: one pair on the raw_syscalls tracepoints, filtered
 * by number, reporting the arguments raw (Falco's generic event).
 */
SEC("tracepoint/raw_syscalls/sys_enter")
int enter_generic(struct trace_event_raw_sys_enter *ctx)
{
	if (!generic_wanted(BPF_CORE_READ(ctx, id)))
		return 0;
	return stash_tp(ctx, K_GENERIC);
}

SEC("tracepoint/raw_syscalls/sys_exit")
int exit_generic(struct trace_event_raw_sys_exit *ctx)
{
	long nr = BPF_CORE_READ(ctx, id);
	if (!generic_wanted(nr))
		return 0;
	return emit_exit(ctx->ret, K_GENERIC, nr);
}

static __always_inline __u16 read_argv(char *buf, struct task_struct *t)
{
	unsigned long start = BPF_CORE_READ(t, mm, arg_start);
	unsigned long end = BPF_CORE_READ(t, mm, arg_end);
	unsigned long len = end - start;
	if (end <= start)
		return 0;
	if (len > STR_ARGV)
		len = STR_ARGV;
	if (bpf_probe_read_user(buf, len & (STR_ARGV - 1 + STR_ARGV), (const void *)start))
		return 0;
	return len;
}

static __always_inline __u16 exe_flags(struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u16 flags = 0;
	if (BPF_CORE_READ(ino, i_sb, s_magic) == OVERLAYFS_MAGIC) {
		struct ovl_inode *oi = container_of(ino, struct ovl_inode, vfs_inode);
		if (BPF_CORE_READ(oi, __upperdentry))
			flags |= REC_F_EXE_UPPER;
	}
	char name[6] = {};
	bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' &&
	    name[5] == ':')
		flags |= REC_F_EXE_MEMFD;
	return flags;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (is_self())
		return 0;
	struct stash *s = stash_of_current(0);
	struct scratch *sc = get_scratch();
	if (!sc)
		return 0;
	fill_hdr(&sc->h, s && s->kind ? s->kind : K_EXECVE, 0);
	__builtin_memset(sc->h.a, 0, sizeof(sc->h.a));
	sc->h.a[0] = old_pid;
	__u32 used = 0;
	long n = bpf_probe_read_kernel_str(slot_at(sc, used), STR_SHORT, BPF_CORE_READ(bprm, filename));
	PUT_SLOT(sc, used, 0, n > 0 ? n : 0);
	PUT_SLOT(sc, used, 1, read_argv(slot_at(sc, used), p));
	used = slots_used(sc);
	struct file *f = BPF_CORE_READ(bprm, file);
	sc->h.flags = exe_flags(f);
	if (sc->h.flags & REC_F_EXE_MEMFD) {
		/* a memfd's dentry hangs under no directory: its name ("memfd:NAME") is its path */
		n = bpf_probe_read_kernel_str(slot_at(sc, used), STR_SHORT,
					      BPF_CORE_READ(f, f_path.dentry, d_name.name));
		PUT_SLOT(sc, used, 2, n > 0 ? n : 0);
	} else {
		PUT_SLOT(sc, used, 2,
			 put_walk(slot_at(sc, used), BPF_CORE_READ(f, f_path.dentry),
				  BPF_CORE_READ(f, f_path.mnt)));
	}
	used = slots_used(sc);
	PUT_SLOT(sc, used, 3,
		 put_walk(slot_at(sc, used), BPF_CORE_READ(p, fs, pwd.dentry), BPF_CORE_READ(p, fs, pwd.mnt)));
	submit(sc, used);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	if (!group_dead || is_self())
		return 0;
	struct scratch *sc = get_scratch();
	if (!sc)
		return 0;
	fill_hdr(&sc->h, K_PROCEXIT, 0);
	__builtin_memset(sc->h.a, 0, sizeof(sc->h.a));
	sc->h.a[0] = BPF_CORE_READ(p, exit_code);
	sc->h.a[1] = BPF_CORE_READ(p, signal, group_exit_code);
	submit(sc, 0);
	return 0;
}

/* A signal reaching the current task (Falco's signaldeliver): sender, target, signal. */
SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	if (is_self())
		return 0;
	struct scratch *sc = get_scratch();
	if (!sc)
		return 0;
	fill_hdr(&sc->h, K_SIGNALDELIVER, 0);
	__builtin_memset(sc->h.a, 0, sizeof(sc->h.a));
	/* Only a signal a process sent (si_code <= 0: kill, tgkill, sigqueue) names a sender. */
	if (info && BPF_CORE_READ(info, si_code) <= 0)
		sc->h.a[0] = BPF_CORE_READ(info, _sifields._kill._pid);
	sc->h.a[1] = sig;
	sc->h.a[2] = sc->h.pid;
	submit(sc, 0);
	return 0;
}
