/* timer.c — stage12's timing wheel, unchanged: a deadline per connection
 * for a store on the hot path (see worker.c on io_uring's own timeouts).
 * Compiled into stage13 from stage12's source rather than copied. */
#include "../stage12_c10k/timer.c" // NOLINT(bugprone-suspicious-include): on purpose
