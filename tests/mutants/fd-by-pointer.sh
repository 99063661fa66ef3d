# The client's descriptor handed to the new thread as a pointer to the
# accept loop's variable: by the time the thread reads it, the loop may
# have accepted the next client into it.  Two threads serve one socket,
# another socket is never served nor closed.
stage=stage05
question=1
what="the thread gets &fd, a variable the accept loop overwrites"
checks="200 parallel clients|a thread per client"
mutate() {
    edit stages/stage05_threads.c 's/serve_client\(\(int\)\(intptr_t\)arg\);/serve_client(*(int *)arg);/'
    edit stages/stage05_threads.c 's/client_thread, \(void \*\)\(intptr_t\)fd\)/client_thread, \&fd)/'
}
