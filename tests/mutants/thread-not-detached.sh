# Threads created joinable and never joined: each finished thread keeps its
# stack (and its descriptor of the thread) until someone joins it, and
# nobody will.  The address space grows by a stack per client, for ever.
stage=stage05
question=1
what="client threads neither detached nor joined: a stack leaks per client"
checks="stacks of finished threads"
mutate() {
    edit stages/stage05_threads.c 's/^\s*pthread_attr_setdetachstate\(&attr, PTHREAD_CREATE_DETACHED\);\n//m'
}
