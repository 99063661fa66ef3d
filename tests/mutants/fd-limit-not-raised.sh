# The soft RLIMIT_NOFILE (often 1024) is kept instead of being raised to the
# hard limit: past about a thousand clients, accept() fails with EMFILE.
stage=stage12
question=9
what="RLIMIT_NOFILE not raised: the soft limit caps the clients at about 1 000"
checks="soft fd limit of 512"
mutate() {
    edit stages/stage12_c10k/main.c 's/\n[ \t]*rl\.rlim_cur = rl\.rlim_max;//'
}
