/* noring — run a program where io_uring is refused, as in a container.
 *
 *   noring PROGRAM [ARGS...]
 *
 * Installs a seccomp filter that makes io_uring_setup() fail with EPERM —
 * what Docker's and containerd's default profiles do — then execs PROGRAM.
 * Every other system call is allowed.  No privilege is needed: with
 * PR_SET_NO_NEW_PRIVS set, any process may install a filter on itself, and
 * the filter is inherited across exec and fork.  Exit status 127 when the
 * filter cannot be installed or PROGRAM cannot be run.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: noring PROGRAM [ARGS...]\n");
        return 127;
    }
    struct sock_filter code[] = {
#ifdef THIS_ARCH
        /* Another architecture's system call numbers mean other calls: kill. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        perror("noring: seccomp");
        return 127;
    }
    execvp(argv[1], argv + 1);
    perror("noring: exec");
    return 127;
}
