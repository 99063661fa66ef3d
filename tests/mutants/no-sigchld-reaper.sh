# The parent never reaps its children: no SIGCHLD handler, no waitpid().
# Each child that exits stays a zombie in the process table.
stage=stage03
question=2
what="no SIGCHLD handler: every finished child stays a zombie"
checks="no zombies"
mutate() {
    edit stages/stage03_fork.c 's/^(\s*)install_child_reaper\(\);\n//m'
}
