# After fork() the parent forgets to close its copy of the client's socket.
# The connection stays open while any process holds it: the client never
# sees the end of the reply, and the parent leaks a descriptor per client.
stage=stage03
question=2
what="the parent keeps its copy of the client's socket after fork()"
checks="one request per connection|no zombies and descriptors"
mutate() {
    # the parent's close(fd), the last statement of the accept loop
    edit stages/stage03_fork.c 's/^(\s*)close\(fd\);(\n(\s*\/\*[^\n]*\*\/\n)?\s*\}\n\s*close\(listen_fd\);)/$2/m'
}
