/* main() for fuzz targets built without libFuzzer: runs every file named on
 * the command line (directories: every file in them) through the target
 * once. It fails when it ran nothing, so a lost corpus cannot pass. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
        FILE *f = fopen(path, "rbe");
        if (!f) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        size_t cap = 4096, size = 0, k;
        uint8_t *buf = malloc(cap);
        while (buf && (k = fread(buf + size, 1, cap - size, f)) > 0) {
                size += k;
                if (size == cap && !(buf = realloc(buf, cap *= 2)))
                        break;
        }
        fclose(f);
        if (!buf)
                return -1;
        /* An exact-size copy, so ASan sees any read past the input. */
        uint8_t *exact = malloc(size ? size : 1);
        if (!exact)
                return -1;
        memcpy(exact, buf, size);
        free(buf);
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
        LLVMFuzzerTestOneInput(exact, size);
        free(exact);
        return 0;
}


static int run_dir(const char *dir, unsigned *count) {
        struct dirent **list;
        int n = scandir(dir, &list, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
                return -1;
        }
        int r = 0;
        for (int i = 0; i < n; i++) {
                char path[4096];
                if (list[i]->d_name[0] != '.' && r == 0) {
                        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
                        if ((r = run_file(path)) == 0)
                                (*count)++;
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int main(int argc, char **argv) {
        unsigned count = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode))
                        r = run_dir(argv[i], &count);
                else if ((r = run_file(argv[i])) == 0)
                        count++;
                if (r < 0)
                        return 1;
        }
        printf("replayed %u inputs\n", count);
        return count > 0 ? 0 : 1;
}
