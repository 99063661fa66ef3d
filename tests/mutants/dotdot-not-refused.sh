# The URL path is glued to the docroot and opened as it is: no refusal of
# ".." segments, no check that the file found lies inside the docroot.
# GET /../../etc/passwd serves the password file.
stage=stage02
question=0
what="'..' not refused: the docroot and the URL path are simply concatenated"
checks="traversal battery"
mutate() {
    edit common/path.c 's/\n[ \t]*if \(has_dot_segment\(out\)\)\n[ \t]*return 403;//'
    # and the second line of defence, whichever form it takes
    edit common/path.c 's/\.resolve = RESOLVE_BENEATH \| /.resolve = /' ||
        edit common/path.c 's/(if \(strncmp\(real, docroot_real, rl\) != 0[^\n]*\n[ \t]*)return 403;/${1}return 0;/'
}
