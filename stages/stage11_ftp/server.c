/* stage11 — fork-per-client FTP server (being written: listens, greets, says goodbye). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "net.h"
#include "options.h"

int main(int argc, char **argv)
{
    struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage11");
    opt.port = 2121;
    opt.docroot = "ftproot";
    parse_options(argc, argv, &opt, NULL);
    install_signal_handlers();
    int lfd = open_listener(&opt, 64, 0);
    announce_ready(&opt, lfd, "ftp", "root");
    while (!stop_requested) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        static const char bye[] = "421 Not ready yet.\r\n";
        if (write(c, bye, sizeof bye - 1) < 0)
            perror("write");
        close(c);
    }
    close(lfd);
    return 0;
}
