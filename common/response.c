/* response.c — status lines, headers, error pages; see response.h. */
#include "response.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "path.h"

const char *http_server_name = "serverlab";

const char *http_reason(int status)
{
    // clang-format off
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 412: return "Precondition Failed";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:  return "Unknown";
    }
    // clang-format on
}

void http_date(char out[30])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

size_t http_format_head(char *buf, size_t cap, int status, const char *content_type,
                        off_t content_length, int keep_alive, const char *extra)
{
    char date[30], type[256] = "", length[48] = "";
    http_date(date);
    if (content_type != NULL)
        snprintf(type, sizeof type, "Content-Type: %s\r\n", content_type);
    if (content_length >= 0)
        snprintf(length, sizeof length, "Content-Length: %lld\r\n", (long long)content_length);
    int n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Date: %s\r\n"
                     "Server: serverlab/%s\r\n"
                     "%s%s"
                     "Connection: %s\r\n"
                     "%s\r\n",
                     status, http_reason(status), date, http_server_name, type, length,
                     keep_alive ? "keep-alive" : "close", extra ? extra : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void reply_init(struct http_reply *rep, int status, int keep_alive)
{
    rep->status = status;
    rep->keep_alive = keep_alive;
    rep->head_len = 0;
    rep->file_fd = -1;
    rep->file_offset = 0;
    rep->file_remaining = 0;
    rep->body_len = 0;
}

/* Error page plus optional extra header lines (Allow:, Location:). */
static void reply_page(struct http_reply *rep, int status, int keep_alive, int head_only,
                       const char *extra)
{
    char body[256];
    int blen = snprintf(body, sizeof body,
                        "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                        "<body><h1>%d %s</h1></body></html>\n",
                        status, http_reason(status), status, http_reason(status));
    reply_init(rep, status, keep_alive);
    rep->head_len = http_format_head(rep->head, sizeof rep->head, status,
                                     "text/html; charset=utf-8", blen, keep_alive, extra);
    rep->body_len = blen;
    if (!head_only && rep->head_len + (size_t)blen <= sizeof rep->head) {
        memcpy(rep->head + rep->head_len, body, (size_t)blen);
        rep->head_len += (size_t)blen;
    }
}

void http_reply_error(struct http_reply *rep, int status, int keep_alive, int head_only)
{
    reply_page(rep, status, keep_alive, head_only, NULL);
}

void http_reply_for(struct http_reply *rep, const struct http_request *req,
                    const struct server_options *opt, int allow_keep_alive)
{
    int keep_alive = allow_keep_alive && req->keep_alive;
    int head_only = req->method == HTTP_HEAD;

    if (req->method == HTTP_OTHER) {
        reply_page(rep, 405, keep_alive, 0, "Allow: GET, HEAD\r\n");
        return;
    }

    struct resolved_file f;
    resolve_file(opt->docroot_fd, req->target, req->target_len, &f);
    if (f.status == 301) {
        char extra[sizeof f.location + 16];
        snprintf(extra, sizeof extra, "Location: %s\r\n", f.location);
        reply_page(rep, 301, keep_alive, head_only, extra);
        if (rep->head_len == 0) /* the location did not fit the head buffer */
            reply_page(rep, 414, 0, head_only, NULL);
        return;
    }
    if (f.status != 200) {
        /* 400 and 414 from the path mean a bad request: don't trust the
         * rest of the stream.  403 and 404 keep the connection. */
        int keep = keep_alive && (f.status == 403 || f.status == 404);
        reply_page(rep, f.status, keep, head_only, NULL);
        return;
    }

    struct file_version version;
    file_version_of(&f.st, &version);
    http_reply_file(rep, req, &version, f.mime, keep_alive);
    if (rep->file_remaining == 0) { /* HEAD, 304, 412, 416, an empty file */
        close(f.fd);
        return;
    }
    rep->file_fd = f.fd;
}

void http_reply_file(struct http_reply *rep, const struct http_request *req,
                     const struct file_version *v, const char *mime, int keep_alive)
{
    struct file_answer a = http_decide(req, v, time(NULL));
    int head_only = req->method == HTTP_HEAD;
    if (a.status == 412) {
        reply_page(rep, 412, keep_alive, head_only, NULL);
        return;
    }
    char extra[256];
    if (http_validator_lines(extra, sizeof extra, v, &a) == 0)
        extra[0] = '\0'; /* cannot happen with 256 bytes; never half a line */
    reply_init(rep, a.status, keep_alive);
    /* A 304 describes the 200 the client already has: no body, so neither
     * Content-Type nor Content-Length (RFC 9110 15.4.5; nginx does the same). */
    int not_modified = a.status == 304;
    rep->head_len =
        http_format_head(rep->head, sizeof rep->head, a.status, not_modified ? NULL : mime,
                         not_modified ? -1 : a.length, keep_alive, extra);
    rep->body_len = a.length;
    rep->file_offset = a.offset;
    rep->file_remaining = head_only ? 0 : a.length;
}

void http_reply_done(struct http_reply *rep)
{
    if (rep->file_fd >= 0)
        close(rep->file_fd);
    rep->file_fd = -1;
    rep->file_remaining = 0;
}

void http_log(const struct server_options *opt, const struct http_request *req,
              const struct http_reply *rep)
{
    if (!opt->verbose)
        return;
    int tlen = req && req->target ? (int)(req->target_len > 200 ? 200 : req->target_len) : 1;
    fprintf(stderr, "%s %.*s %d %lld\n", req ? http_method_name(req->method) : "-", tlen,
            req && req->target ? req->target : "-", rep->status, (long long)rep->body_len);
}
