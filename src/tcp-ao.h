/* The TCP-AO (RFC 5925) socket options of Linux >= 6.7, as its
 * include/uapi/linux/tcp.h defines them. Debian 12's linux-libc-dev (6.1)
 * has none of this; a newer <linux/tcp.h> has all of it, and then these
 * definitions stand aside. The layouts are the kernel's ABI: field for
 * field, bit for bit. */
#pragma once

#include <linux/socket.h>
#include <linux/tcp.h>
#include <linux/types.h>

#ifndef TCP_AO_ADD_KEY
#define TCP_AO_ADD_KEY 38  /* add or replace a key (MKT) */
#define TCP_AO_DEL_KEY 39  /* delete a key */
#define TCP_AO_INFO 40     /* per-socket settings and counters */
#define TCP_AO_GET_KEYS 41 /* list keys, with their counters */
#define TCP_AO_REPAIR 42   /* sequence number extensions, for checkpointing */

#define TCP_AO_MAXKEYLEN 80

#define TCP_AO_KEYF_IFINDEX (1 << 0)     /* the key is bound to an L3 device (VRF) */
#define TCP_AO_KEYF_EXCLUDE_OPT (1 << 1) /* options other than AO are not in the MAC */

struct tcp_ao_add { /* setsockopt(TCP_AO_ADD_KEY) */
	struct __kernel_sockaddr_storage addr; /* the peer's address */
	char alg_name[64];                     /* a kernel hash: "hmac(sha1)", "cmac(aes128)", ... */
	__s32 ifindex;                         /* L3 device, with TCP_AO_KEYF_IFINDEX */
	__u32 set_current : 1,                 /* send with this key at once */
		set_rnext : 1,                 /* ask the peer for this key (RNextKeyID) */
		reserved : 30;                 /* 0 */
	__u16 reserved2;                       /* 0 */
	__u8 prefix;                           /* of addr: the peers the key covers */
	__u8 sndid;                            /* KeyID sent in our segments */
	__u8 rcvid;                            /* KeyID expected in the peer's segments */
	__u8 maclen;                           /* MAC length in bytes; 0: the algorithm's default */
	__u8 keyflags;                         /* TCP_AO_KEYF_* */
	__u8 keylen;                           /* bytes used in key */
	__u8 key[TCP_AO_MAXKEYLEN];
} __attribute__((aligned(8)));

struct tcp_ao_del { /* setsockopt(TCP_AO_DEL_KEY) */
	struct __kernel_sockaddr_storage addr;
	__s32 ifindex;
	__u32 set_current : 1, /* make current_key the current key as the key goes */
		set_rnext : 1, /* make rnext the RNextKeyID as the key goes */
		del_async : 1, /* listening sockets only: delete in the background */
		reserved : 29;
	__u16 reserved2;
	__u8 prefix;
	__u8 sndid; /* the key to delete: its address, prefix and both IDs */
	__u8 rcvid;
	__u8 current_key;
	__u8 rnext;
	__u8 keyflags;
} __attribute__((aligned(8)));

struct tcp_ao_info_opt { /* setsockopt and getsockopt(TCP_AO_INFO) */
	__u32 set_current : 1, /* current_key is valid */
		set_rnext : 1, /* rnext is valid */
		ao_required : 1, /* drop every segment without AO, from any peer */
		set_counters : 1, /* set: write the pkt_* counters */
		accept_icmps : 1, /* act on ICMP errors (RFC 5925 7.8) */
		reserved : 27;
	__u16 reserved2;
	__u8 current_key; /* SendID of the key we send with */
	__u8 rnext;       /* RecvID we ask the peer to send with */
	__u64 pkt_good;          /* segments that verified */
	__u64 pkt_bad;           /* segments that failed verification */
	__u64 pkt_key_not_found; /* segments naming a KeyID we have no key for */
	__u64 pkt_ao_required;   /* unsigned segments where AO was required */
	__u64 pkt_dropped_icmp;  /* ICMP errors ignored */
} __attribute__((aligned(8)));

struct tcp_ao_getsockopt { /* getsockopt(TCP_AO_GET_KEYS) */
	struct __kernel_sockaddr_storage addr; /* in: filter, out: the key's address */
	char alg_name[64];                     /* out */
	__u8 key[TCP_AO_MAXKEYLEN];            /* out */
	__u32 nkeys;                           /* in: entries in the buffer, out: keys matched */
	__u16 is_current : 1, /* in: filter, out: this is the current key */
		is_rnext : 1, /* in: filter, out: this is the RNext key */
		get_all : 1,  /* in: every key, no filter */
		reserved : 13;
	__u8 sndid; /* in: filter, out */
	__u8 rcvid; /* in: filter, out */
	__u8 prefix;
	__u8 maclen;
	__u8 keyflags;
	__u8 keylen;
	__s32 ifindex;
	__u64 pkt_good; /* out: segments this key verified */
	__u64 pkt_bad;  /* out: segments that failed with this key */
} __attribute__((aligned(8)));

struct tcp_ao_repair { /* setsockopt and getsockopt(TCP_AO_REPAIR) */
	__be32 snt_isn;
	__be32 rcv_isn;
	__u32 snd_sne;
	__u32 rcv_sne;
} __attribute__((aligned(8)));
#endif /* TCP_AO_ADD_KEY */
