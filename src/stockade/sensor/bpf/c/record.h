/* Layout of the records the sensor writes into the ring buffer (decoded by decoder.py). */
#pragma once

#define STR_SHORT 256
#define STR_ARGV 1024
#define STR_WALK 512 /* a dentry walk writes NUL-separated components, leaf first */
#define STR_SOCKADDR 128

/*
 * The first 88 bytes say who acted (the decoder caches the Process built from them);
 * the rest say what happened.
 */
struct rec_hdr {
	__u64 cgroup_id; /* bpf_get_current_cgroup_id */
	__u64 cap_eff;
	__u64 cap_perm;
	__u64 start_ns;  /* group leader start, boot time ns */
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 loginuid;
	__u32 tty;
	__u32 vpid;
	char comm[16];
	/* offset 88 */
	__u64 ts;        /* bpf_ktime_get_boot_ns */
	__s64 res;       /* syscall return value */
	__u64 a[6];      /* raw syscall arguments (some replaced, see decoder.py) */
	__u16 kind;      /* event kind id (kinds.h, generated) */
	__u16 cpu;       /* bpf_get_smp_processor_id (evt.cpu) */
	__u16 flags;     /* REC_F_* */
	__u16 slen[4];   /* bytes used in each string slot */
	__u16 nr;        /* the syscall number of a generic record (K_GENERIC), else 0 */
};

#define REC_F_EXE_UPPER 1
#define REC_F_EXE_MEMFD 2
#define REC_F_TUPLE 4 /* slot 1 holds a struct sock_tuple */
#define REC_F_FD_UPPER 8 /* the file opened is on an overlayfs upper layer */
#define REC_F_FD_LOWER 16 /* ... on a lower layer */

/*
 * A record is the header followed by up to four slots packed back to back: slot i
 * starts where slot i-1 ends (slen[] holds each length). Records are built in a
 * per-CPU scratch buffer and copied into the ring with their exact size.
 */
#define DATA_MAX 4096
#define DATA_HALF 2048 /* a slot starts below this, so start + max length < DATA_MAX */

struct scratch {
	struct rec_hdr h;
	char data[DATA_MAX];
};

struct sock_tuple {
	__u16 family;
	__u16 type;
	__u16 proto;
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u16 role;  /* ROLE_SERVER: the socket came from accept */
	__u8 saddr[16];
	__u8 daddr[16];
};

#define ROLE_SERVER 1

struct sensor_cfg {
	__u32 self_tgid;
	__u32 wakeup_bytes;
	__u32 snaplen; /* bytes of I/O data kept per event (at most SNAP_MAX) */
	__u32 sock_io_max; /* I/O events reported per socket (its first ones); 0: all */
};

#define SNAP_MAX 1024
