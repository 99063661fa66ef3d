/* filecache.c — stage12's file cache, unchanged: answers for popular files,
 * small ones kept in memory, so that a reply is one SENDMSG of head + body.
 * Compiled into stage13 from stage12's source rather than copied. */
#include "../stage12_c10k/filecache.c" // NOLINT(bugprone-suspicious-include): on purpose
