# tests/lib/fixture_class.bash — a class of stage01 submissions for testing
# `make grade-class` (tests/kit.bats), each made from the reference stage01
# by one small edit, so that the class follows the reference as it changes.
#
#   make_fixture_class DIR    DIR/NAME/stage01.c for every NAME below
#
#   correct     the reference itself
#   nocompile   a syntax error
#   crash       dereferences NULL on its first request
#   forkbomb    for (;;) fork(); once it listens
#   noexit      serves, but ignores SIGTERM and SIGINT
#   escape      serves, and first tries to write outside its directory
#   flood       writes to stdout without end on its first request
FIXTURE_ESCAPE_NAME=serverlab-kit-escape

make_fixture_class() {
    local dir=$1 ref="$ROOT/stages/stage01_fixed_reply.c" n
    for n in correct nocompile crash forkbomb noexit escape flood; do
        mkdir -p "$dir/$n"
    done
    cp "$ref" "$dir/correct/stage01.c"
    { cat "$ref"; echo 'this line is not C;'; } > "$dir/nocompile/stage01.c"
    # The first statement of serve_client(), and of main() after the signals.
    at_serve() { sed "/^static void serve_client(int fd)\$/{n;s|\$|\\n    $2|}" "$ref" > "$1"; }
    at_serve "$dir/crash/stage01.c" '*(volatile int *)0 = 0;'
    # the bomb goes off once it listens, before its ready line: every check
    # then fails at start-up, in READY_TIMEOUT, instead of waiting on replies
    sed 's|^    announce_ready(&opt, listen_fd, "http", "docroot");$|    for (;;)\n        fork();\n&|' "$ref" > "$dir/forkbomb/stage01.c"
    at_serve "$dir/flood/stage01.c" 'for (;;) fputs("flood flood flood flood flood flood flood flood\\n", stdout);'
    sed -e 's|^#include <errno.h>$|#include <errno.h>\n#include <signal.h>|' \
        -e 's|^    install_signal_handlers();$|    signal(SIGTERM, SIG_IGN);\n    signal(SIGINT, SIG_IGN);|' \
        "$ref" > "$dir/noexit/stage01.c"
    local p targets=""
    for p in /tmp /var/tmp /dev/shm .. ../.. ../../.. ../../../..; do
        targets+="\"$p/$FIXTURE_ESCAPE_NAME\", "
    done
    sed -e 's|^#include <errno.h>$|#include <errno.h>\n#include <fcntl.h>|' \
        -e "s|^    install_signal_handlers();\$|    install_signal_handlers();\\n    static const char *escape[] = { $targets};\\n    for (unsigned i = 0; i < sizeof escape / sizeof *escape; i++)\\n        close(open(escape[i], O_WRONLY \| O_CREAT, 0644));|" \
        "$ref" > "$dir/escape/stage01.c"
    for n in crash forkbomb flood noexit escape; do
        cmp -s "$ref" "$dir/$n/stage01.c" && { echo "fixture $n: the edit did not apply" >&2; return 1; }
    done
    return 0
}
