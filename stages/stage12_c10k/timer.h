/* timer.h — a timing wheel: arm, move and cancel a timeout in O(1).
 *
 * Ten thousand connections each need a deadline (idle keep-alive, a request
 * that never completes, a client that stopped reading, a lingering close).
 * Scanning all of them every tick costs O(n) per tick; a sorted structure
 * costs O(log n) per change.  A wheel is an array of WHEEL_SLOTS lists, one
 * per WHEEL_TICK_MS of time, used round and round like the face of a clock:
 * a timer due at tick T sits in slot T % WHEEL_SLOTS.  Arming or cancelling
 * is a list link/unlink; each tick the loop looks at one slot only.
 * A deadline more than one revolution away simply stays in its slot for
 * another turn: when its slot comes up early, it is put back.
 *
 * Pushing a deadline *later* — what a busy keep-alive connection does on
 * every request — does not even touch the lists: timer_set() just stores the
 * new deadline, and the timer is moved when its old slot comes up.  So the
 * hot path pays one store, and only deadlines moved *earlier* relink.
 */
#ifndef STAGE12_TIMER_H
#define STAGE12_TIMER_H

#include <stddef.h>

#define WHEEL_TICK_MS 100 /* resolution: timeouts fire up to this late */
#define WHEEL_SLOTS   256 /* one revolution: 25.6 s */

struct timer {
    long long deadline;        /* CLOCK_MONOTONIC ms at which it fires */
    long long due_tick;        /* the tick whose slot holds it */
    struct timer *prev, *next; /* slot list; next == NULL: not armed */
};

struct timer_wheel {
    struct timer slot[WHEEL_SLOTS]; /* list heads (only prev/next used) */
    long long tick;                 /* every tick up to this one has been looked at */
    size_t armed;                   /* timers in the wheel */
};

void wheel_init(struct timer_wheel *w, long long now_ms);

/* Arm t to fire at deadline, or move it there if it is armed already. */
void timer_set(struct timer_wheel *w, struct timer *t, long long deadline);

/* Disarm t (no-op when not armed). */
void timer_cancel(struct timer_wheel *w, struct timer *t);

static inline int timer_armed(const struct timer *t)
{
    return t->next != NULL;
}

/* Milliseconds until the next slot holding a timer comes up; -1 when the
 * wheel is empty.  The event loop sleeps at most this long. */
int wheel_next_ms(const struct timer_wheel *w, long long now_ms);

/* Disarm and fire(t) every timer whose deadline has passed.  fire() may arm,
 * move or cancel any timer, including t. */
void wheel_expire(struct timer_wheel *w, long long now_ms, void (*fire)(struct timer *t));

#endif
