/* timer.c — the timing wheel; see timer.h. */
#include "timer.h"

#include "options.h" /* not_implemented_yet(), in the student handout */

/* Exercise: the timing wheel of timer.h.  A timer sits in the slot of its
 * due tick (rounded up, never early) on a circular list; setting a timer
 * later only moves its deadline (it is moved when its slot comes round);
 * wheel_expire() walks every tick up to now and fires what is due.
 * Handout stub:
 *     void wheel_init(struct timer_wheel *w, long long now_ms) { not_implemented_yet("wheel_init"); }
 *     void timer_set(struct timer_wheel *w, struct timer *t, long long deadline) { not_implemented_yet("timer_set"); }
 *     void timer_cancel(struct timer_wheel *w, struct timer *t) { not_implemented_yet("timer_cancel"); }
 *     int wheel_next_ms(const struct timer_wheel *w, long long now_ms) { not_implemented_yet("wheel_next_ms"); }
 *     void wheel_expire(struct timer_wheel *w, long long now_ms, void (*fire)(struct timer *t)) { not_implemented_yet("wheel_expire"); }
 */

static long long tick_of(long long ms)
{
    return (ms + WHEEL_TICK_MS - 1) / WHEEL_TICK_MS; /* round up: never early */
}

void wheel_init(struct timer_wheel *w, long long now_ms)
{
    for (int i = 0; i < WHEEL_SLOTS; i++)
        w->slot[i].prev = w->slot[i].next = &w->slot[i];
    w->tick = now_ms / WHEEL_TICK_MS;
    w->armed = 0;
}

static void unlink_timer(struct timer_wheel *w, struct timer *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
    w->armed--;
}

static void link_timer(struct timer_wheel *w, struct timer *t)
{
    long long due = tick_of(t->deadline);
    if (due <= w->tick) /* already in the past: the next tick */
        due = w->tick + 1;
    struct timer *head = &w->slot[due % WHEEL_SLOTS];
    t->due_tick = due;
    t->next = head;
    t->prev = head->prev;
    head->prev->next = t;
    head->prev = t;
    w->armed++;
}

void timer_set(struct timer_wheel *w, struct timer *t, long long deadline)
{
    if (timer_armed(t) && tick_of(deadline) >= t->due_tick) {
        t->deadline = deadline; /* later: moved lazily when its slot comes */
        return;
    }
    if (timer_armed(t))
        unlink_timer(w, t);
    t->deadline = deadline;
    link_timer(w, t);
}

void timer_cancel(struct timer_wheel *w, struct timer *t)
{
    if (timer_armed(t))
        unlink_timer(w, t);
}

int wheel_next_ms(const struct timer_wheel *w, long long now_ms)
{
    if (w->armed == 0)
        return -1;
    for (long long t = w->tick + 1; t <= w->tick + WHEEL_SLOTS; t++) {
        const struct timer *head = &w->slot[t % WHEEL_SLOTS];
        if (head->next != head) {
            long long left = t * WHEEL_TICK_MS - now_ms;
            return left <= 0 ? 0 : (int)left;
        }
    }
    return -1; /* not reached: armed > 0 */
}

void wheel_expire(struct timer_wheel *w, long long now_ms, void (*fire)(struct timer *t))
{
    long long now_tick = now_ms / WHEEL_TICK_MS;
    if (w->armed == 0 || now_tick - w->tick > WHEEL_SLOTS)
        /* Nothing armed (the loop may have slept for hours), or more than a
         * revolution passed: looking at each slot once is enough, because
         * every timer checks its own deadline. */
        w->tick = w->armed == 0 ? now_tick : now_tick - WHEEL_SLOTS;
    while (w->tick < now_tick) {
        w->tick++;
        struct timer *head = &w->slot[w->tick % WHEEL_SLOTS];
        if (head->next == head)
            continue;
        /* Move the slot's list onto a local head first: fire() may arm
         * timers into this very slot, or cancel any timer, also one still
         * waiting in the local list (unlinking works on any circular list). */
        struct timer due = { .next = head->next, .prev = head->prev };
        due.next->prev = &due;
        due.prev->next = &due;
        head->next = head->prev = head;
        while (due.next != &due) {
            struct timer *t = due.next;
            unlink_timer(w, t);
            if (t->deadline <= now_ms)
                fire(t);
            else
                link_timer(w, t); /* pushed later meanwhile, or a later revolution */
        }
    }
}
/* End of exercise. */
