# SIGPIPE left at its default action.  Writing to a connection the client
# has reset raises SIGPIPE, and by default SIGPIPE ends the process: one
# impatient client takes the whole server down.
stage=stage02
question=4
what="SIGPIPE not ignored: a client that resets mid-download kills the server"
checks="resets mid-download"
mutate() {
    edit common/net.c 's/\n[ \t]*sigaction\(SIGPIPE, &sa, NULL\);//'
}
