/* command.h — what a line on the FTP control connection says, and which
 * names in it are acceptable.  Pure string work, no system calls: the server
 * uses both, the client checks its own names before sending them, and the
 * fuzzer (tests/fuzz/fuzz_ftp.c) hammers both.
 */
#ifndef STAGE11_COMMAND_H
#define STAGE11_COMMAND_H

#include <stddef.h>

/* "RETR big.bin" -> verb "RETR", arg "big.bin" (arg_len 8).  The verb is 3
 * or 4 letters, upper-cased (FTP verbs are case-insensitive); the argument is
 * everything after the first space, spaces included ("with space.txt"), and
 * may contain NUL bytes: a name check must look at arg_len, not strlen(). */
struct command_line {
    char verb[5];
    const char *arg; /* points into the line; "" when there is none */
    size_t arg_len;
};

/* Split a line of len bytes.  Returns 0, or -1 when it does not start with
 * a verb (garbage, a 5-letter word, a space first). */
int parse_command(const char *line, size_t len, struct command_line *cmd);

/* 1 if the len bytes contain a control character (NUL, CR, LF, DEL, ...):
 * CR and LF inside a name could inject a second command or reply line, NUL
 * would cut the name short once it reaches the C library. */
int has_control_char(const char *s, size_t len);

/* Join cwd (a virtual path: "/" or "/a/b") and a client's name (absolute
 * "/x" or relative "x/y", len bytes) into out, a clean virtual path.  No
 * interpretation of ".." and no exceptions: a name with a ".." segment,
 * a hidden ".name" segment or a control character is refused.  (The only
 * way up is CDUP.)  Returns 0, or -1 when the name is refused or too long;
 * errno is EPERM when a segment begins with a dot. */
int vpath_join(const char *cwd, const char *name, size_t len, char *out, size_t cap);

/* The last segment of a virtual path ("" for "/"). */
const char *vpath_base(const char *vpath);

#endif
