/* What a listener should hold against what the kernel says it holds: the
 * per-prefix comparison behind --status. Pure, so unit tests check it
 * without a kernel. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "plan.h"
#include "sockdiag.h"
#include "tcpao.h"

/* One key the config installs, as sock_diag reports it (an IPv4 prefix
 * of a dual-stack socket as AF_INET). */
typedef struct ExpectedKey {
        Prefix prefix;
        char name[CONFIG_NAME_MAX + 1];                /* "" for the catch-all */
        char fingerprint[SECRET_FINGERPRINT_STRLEN];   /* "" when unknown (Credential= outside systemd) */
} ExpectedKey;

typedef enum DriftKind {
        DRIFT_IN_SYNC,       /* the configured key on its prefix */
        DRIFT_CATCH_ALL,     /* a random key on a catch-all prefix, as expected */
        DRIFT_UNVERIFIED,    /* the prefix is there; the config's secret is not readable here */
        DRIFT_MISSING,       /* the config has it, the kernel does not */
        DRIFT_EXTRA,         /* the kernel has it, the config does not */
        DRIFT_OTHER_KEY,     /* both have the prefix, with different secrets */
        DRIFT_OTHER_MAC,     /* TCP-AO: the same prefix and IDs, another algorithm or MAC length */
        _DRIFT_KIND_MAX,
} DriftKind;

typedef struct DriftLine {
        Prefix prefix;
        DriftKind kind;
        bool catch_all;                               /* the config puts its catch-all here */
        char name[CONFIG_NAME_MAX + 1];               /* the config's key for the prefix, or "" */
        char fingerprint[SECRET_FINGERPRINT_STRLEN];  /* the kernel's, or the config's when missing */
} DriftLine;

/* The entries of plan_keys() for a listener of this shape, fingerprinted
 * (the catch-all without one), sorted by prefix. -ENOMEM. */
int drift_expected(const Config *c, ListenerShape shape, ExpectedKey **ret, size_t *ret_n);
/* Pure. One line per prefix of either list, in prefix order. A catch-all
 * prefix holding a secret of none of want's keys is DRIFT_CATCH_ALL, not
 * drift: its secret is random. want and have sorted by prefix. -ENOMEM. */
int drift_diff(const ExpectedKey *want, size_t n_want, const DiagKey *have, size_t n_have, DriftLine **ret,
               size_t *ret_n);
/* One TCP-AO key the config installs on a listener, as TCP_AO_GET_KEYS
 * would report it. */
typedef struct ExpectedAoKey {
        Prefix prefix;
        char name[CONFIG_NAME_MAX + 1];
        char algorithm[CONFIG_AO_ALGORITHM_MAX + 1];   /* as configured: "cmac(aes128)" */
        uint8_t send_id, recv_id, mac_length;          /* mac_length: the default filled in */
        char fingerprint[SECRET_FINGERPRINT_STRLEN];   /* of the config's secret; "" when unknown */
} ExpectedAoKey;

/* One TCP-AO key of either side, matched on prefix, SendID and RecvID.
 * The secrets are not compared: the kernel keeps a key derived from a
 * cmac(aes128) secret (RFC 5926), not the secret. */
typedef struct AoDriftLine {
        DriftKind kind;        /* IN_SYNC, MISSING, EXTRA or OTHER_MAC */
        bool has_want, has_have;
        ExpectedAoKey want;
        TcpaoKey have;
} AoDriftLine;

/* The TCP-AO entries of plan_keys() for a listener of this shape,
 * fingerprinted, sorted as tcpao_get_keys() sorts. -ENOMEM. */
int drift_ao_expected(const Config *c, ListenerShape shape, ExpectedAoKey **ret, size_t *ret_n);
/* Pure. One line per key of either list, in their order (both sorted by
 * prefix, SendID, RecvID). -ENOMEM. */
int drift_ao_diff(const ExpectedAoKey *want, size_t n_want, const TcpaoKey *have, size_t n_have,
                  AoDriftLine **ret, size_t *ret_n);

/* Missing, extra or another key: what makes a listener "not in sync". */
bool drift_kind_differs(DriftKind k);
const char *drift_kind_to_string(DriftKind k);
