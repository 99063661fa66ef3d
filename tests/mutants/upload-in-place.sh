# The FTP upload is written straight into its final name.  A transfer cut
# off half-way leaves a truncated file under that name, and an upload that
# replaces a file destroys the old one before the new one is complete.  The
# reference writes a hidden temporary file and rename()s it into place.
stage=stage11
question=0
what="STOR writes into the final name: an interrupted upload leaves half a file"
checks="killed half-way"
mutate() {
    # the "temporary" file made under the final name, whichever call makes it
    edit stages/stage11_ftp/files.c 's/up->fd = mkostemp\(up->tmp, O_CLOEXEC\);/snprintf(up->tmp, sizeof up->tmp, "%s", up->final);\n    up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);/' ||
        edit stages/stage11_ftp/files.c 's/up->fd = create_temp\(up->dir_fd, up->tmp\);/snprintf(up->tmp, sizeof up->tmp, "%s", up->final);\n    up->fd = openat(up->dir_fd, up->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);/'
    # and a transfer cut off is left where it is
    edit stages/stage11_ftp/files.c 's/\n[ \t]*unlink(at)?\(([^\n,]*, )?up->tmp(, 0)?\);//'
}
