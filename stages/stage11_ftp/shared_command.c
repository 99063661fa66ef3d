/* shared_command.c — see command.h.  Linked into the server and the client. */
#include "command.h"

#include <errno.h>
#include <string.h>

int parse_command(const char *line, size_t len, struct command_line *cmd)
{
    size_t n = 0;
    while (n < len && n < 4 && ((line[n] | 0x20) >= 'a' && (line[n] | 0x20) <= 'z'))
        n++;
    if (n < 3 || (n < len && line[n] != ' '))
        return -1;
    for (size_t i = 0; i < n; i++)
        cmd->verb[i] = (char)(line[i] & ~0x20); /* ASCII letter to upper case */
    cmd->verb[n] = '\0';
    if (n < len) {
        cmd->arg = line + n + 1;
        cmd->arg_len = len - n - 1;
    } else {
        cmd->arg = "";
        cmd->arg_len = 0;
    }
    return 0;
}

int has_control_char(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

int vpath_join(const char *cwd, const char *name, size_t len, char *out, size_t cap)
{
    if (len == 0 || cap < 2 || has_control_char(name, len))
        return -1;

    /* Built as "/seg/seg" with n bytes so far; "" stands for the root. */
    size_t n = 0;
    if (name[0] != '/' && strcmp(cwd, "/") != 0) {
        n = strlen(cwd);
        if (n >= cap)
            return -1;
        memcpy(out, cwd, n);
    }

    const char *p = name, *end = name + len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        size_t seg = (size_t)(seg_end - p);
        if (seg == 0 || (seg == 1 && p[0] == '.')) {
            /* "a//b" and "a/./b" are just "a/b" */
        } else if (p[0] == '.') {
            /* ".." would climb out; ".hidden" is not ours to show (the
             * server's upload temporaries are named ".stor-*").  EPERM
             * lets the server say so, rather than "no such file". */
            errno = EPERM;
            return -1;
        } else {
            if (n + 1 + seg + 1 > cap)
                return -1;
            out[n++] = '/';
            memcpy(out + n, p, seg);
            n += seg;
        }
        p = slash ? slash + 1 : end;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return 0;
}

const char *vpath_base(const char *vpath)
{
    return strrchr(vpath, '/') + 1;
}
