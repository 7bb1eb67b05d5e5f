/* Unit tests for the SHA-256 behind key fingerprints: the FIPS 180-2
 * examples, every padding boundary, input split at every byte, and the
 * fingerprint's exact definition (label, NUL, key; 16 hex digits). */
#include <stdio.h>

#include "common.h"
#include "secret.h"
#include "sha256.h"

static void hex(const uint8_t d[static SHA256_DIGEST_SIZE], char out[static 65]) {
        for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest_of(const void *data, size_t len, char out[static 65]) {
        uint8_t d[SHA256_DIGEST_SIZE];
        Sha256 c;
        sha256_init(&c);
        sha256_update(&c, data, len);
        sha256_final(&c, d);
        hex(d, out);
}

static void fips_examples_match(void **state) {
        (void) state;
        char out[65];
        digest_of("", 0, out);
        assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        digest_of("abc", 3, out);
        assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        digest_of(two, strlen(two), out);
        assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void a_million_a_in_odd_pieces(void **state) {
        (void) state;
        static uint8_t a[1000];
        uint8_t d[SHA256_DIGEST_SIZE];
        char out[65];
        Sha256 c;
        memset(a, 'a', sizeof a);
        sha256_init(&c);
        for (size_t done = 0, step = 1; done < 1000000; done += step, step = step % 997 + 1) {
                if (step > 1000000 - done)
                        step = 1000000 - done;
                sha256_update(&c, a, step);
        }
        sha256_final(&c, d);
        hex(d, out);
        assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the 56-byte mark decide whether padding takes a second
 * block; the expected values come from Python's hashlib. */
static void padding_boundaries(void **state) {
        (void) state;
        static const struct { size_t len; const char *want; } v[] = {
                { 55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59" },
                { 56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562" },
                { 63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488" },
                { 64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108" },
                { 65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781" },
                { 119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6" },
                { 120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c" },
                { 128, "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5" },
        };
        uint8_t in[128];
        for (size_t i = 0; i < sizeof in; i++)
                in[i] = (uint8_t) (i % 251);
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
                char whole[65], bytewise[65];
                uint8_t d[SHA256_DIGEST_SIZE];
                Sha256 c;
                digest_of(in, v[i].len, whole);
                assert_string_equal(whole, v[i].want);
                sha256_init(&c);
                for (size_t j = 0; j < v[i].len; j++)
                        sha256_update(&c, in + j, 1);
                sha256_final(&c, d);
                hex(d, bytewise);
                assert_string_equal(bytewise, v[i].want);
        }
}

static void final_wipes_the_context(void **state) {
        (void) state;
        static const Sha256 zero;
        uint8_t d[SHA256_DIGEST_SIZE];
        Sha256 c;
        sha256_init(&c);
        sha256_update(&c, "secret", 6);
        sha256_final(&c, d);
        assert_memory_equal(&c, &zero, sizeof c);
}

/* Pinned: both ends and every release must print the same value. */
static void fingerprint_is_labelled_truncated_sha256(void **state) {
        (void) state;
        Secret s = { .len = 13 };
        char fp[SECRET_FINGERPRINT_STRLEN], plain[65];
        memcpy(s.bytes, "office-secret", 13);
        secret_fingerprint(&s, fp);
        assert_string_equal(fp, "8108d81e5c905c25");
        digest_of("office-secret", 13, plain);
        assert_false(strncmp(fp, plain, 16) == 0); /* not a bare hash of the key */
        memset(s.bytes, 'x', SECRET_MAX);
        s.len = SECRET_MAX;
        secret_fingerprint(&s, fp);
        assert_string_equal(fp, "311f81ad558a993c");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fips_examples_match),
                cmocka_unit_test(a_million_a_in_odd_pieces),
                cmocka_unit_test(padding_boundaries),
                cmocka_unit_test(final_wipes_the_context),
                cmocka_unit_test(fingerprint_is_labelled_truncated_sha256),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
