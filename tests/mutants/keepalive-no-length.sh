# Replies without Content-Length on a connection that stays open.  On a
# closing connection the end of the data marks the end of the reply; on a
# kept-alive one the client cannot know where one reply ends and the next
# begins, and waits for the end of a body that never ends.
stage=stage08
question=8
what="keep-alive replies without Content-Length: the client cannot find their end"
checks="10 pipelined requests"
mutate() {
    edit common/response.c 's/if \(content_length >= 0\)/if (content_length >= 0 && !keep_alive)/'
}
