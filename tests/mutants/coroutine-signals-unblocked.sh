# Coroutines that run with SIGTERM and SIGINT unblocked.  A context made by
# getcontext() carries a signal mask, and swapcontext() installs it: if the
# coroutines' contexts let the stop signals through, a SIGTERM that arrives
# while one runs is handled at once, the scheduler goes on to ppoll() with
# nothing pending, and sleeps until some client happens to do something.
stage=stage06
question=3
what="coroutines run with the stop signals unblocked: a SIGTERM can be lost"
checks="lands while a coroutine runs|run with SIGINT and SIGTERM blocked"
mutate() {
    edit stages/stage06_coroutine/coro.c 's/(\n([ \t]*)makecontext\(&co->context, coroutine_main, 0\);)/$1\n$2sigdelset(&co->context.uc_sigmask, SIGTERM);\n$2sigdelset(&co->context.uc_sigmask, SIGINT);/'
}
