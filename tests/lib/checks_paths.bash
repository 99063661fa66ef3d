# checks_paths.bash — from a URL to a file, and never to anything outside
# the docroot.  Requests go raw (netpoke): curl would tidy up "..".

SECRET_MARK='SECRET-'   # both secret files start with it

# The reply in $REPLY must be a refusal (403 or 404, or 400 where allowed)
# and must not contain a byte of either secret.
expect_refused() {      # expect_refused TARGET [ALLOWED_STATUSES_REGEX]
    local ok=${2:-^(403|404)$}
    [[ $REPLY_STATUS =~ $ok ]] || fail "GET $1 answered '$REPLY_STATUS', expected a refusal ($ok)" || return 1
    ! grep -qa -e "$SECRET_MARK" -e 'root:x:0:' "$REPLY" || fail "GET $1 leaked a file outside the docroot"
}

# A directory without its trailing slash: 301 to the slashed path.
check_301_directory() {
    local location
    raw_request 'GET /withindex HTTP/1.0\r\n\r\n'
    [[ $REPLY_STATUS == 301 ]] || fail "GET /withindex answered '$REPLY_STATUS', expected 301" || return 1
    location=$(reply_head "$REPLY" | header Location /dev/stdin) || fail "301 without Location" || return 1
    [[ $location =~ ^(http://[^/]+)?/withindex/$ ]] || fail "Location is '$location', expected /withindex/" ||
        return 1
    expect_framed "$REPLY" || return 1
    # following it lands on the directory's index
    http_get /withindex -L
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/withindex/index.html" || return 1
    # "Location: //withindex/" would send a browser to the host "withindex"
    local target
    for target in //withindex ///withindex 'http://test//withindex'; do
        raw_request "GET $target HTTP/1.0\r\nHost: test\r\n\r\n"
        [[ $REPLY_STATUS == 301 ]] || fail "GET $target answered '$REPLY_STATUS', expected 301" || return 1
        location=$(reply_head "$REPLY" | header Location /dev/stdin) || fail "301 without Location" || return 1
        [[ $location =~ ^(http://[^/]+)?/withindex/$ ]] ||
            fail "GET $target: Location is '$location', which a browser reads as another host" || return 1
    done
}

# Missing files: 404 with an HTML page; the name does not matter.
check_404_missing() {
    local path
    for path in /nope.txt /nope/deeper/file.html /hello.txt/ /index.html.bak /mime/t.zzz; do
        http_get "$path"
        expect_status 404 || return 1
        [[ $(header Content-Type) == text/html* ]] || fail "404 page for $path is not HTML" || return 1
    done
}

# A name segment longer than the file system allows (NAME_MAX, 255 bytes on
# Linux) in a target well inside the 8 KiB limit: no such file can exist,
# so 404, as nginx answers; 414 stays for targets over the limit.  The
# connection stays usable: nothing about the request itself was wrong.
check_404_long_segment() {
    local name
    name=$(printf 'n%.0s' $(seq 300))
    http_get "/$name"
    expect_status 404 || return 1
    http_get "/noindex/$name.txt"
    expect_status 404 || return 1
    http_get "/$name/hello.txt"
    expect_status 404 || return 1
    # A path longer than PATH_MAX (4096) in a 5 KB target: no file either.
    local deep
    deep=$(printf 'dir/%.0s' $(seq 1250))
    http_get "/${deep}x.txt"
    expect_status 404 || return 1
    http_get /hello.txt
    expect_status 200
}

# A directory without index.html: 404 (never a listing); its files are served.
check_404_dir_without_index() {
    http_get /noindex/
    expect_status 404 || return 1
    ! grep -q 'file.txt' "$BODY" || fail "/noindex/ listed the directory" || return 1
    http_get /noindex/file.txt
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/noindex/file.txt"
}

# Every way out of the docroot we know of is refused, and nothing leaks.
check_traversal_battery() {
    local target
    for target in /../outside/secret.txt /../../../../../../etc/passwd \
                  /%2e%2e/outside/secret.txt /%2E%2E/outside/secret.txt /.%2e/outside/secret.txt \
                  /..%2foutside/secret.txt /%2e%2e%2foutside%2fsecret.txt \
                  /withindex/../../outside/secret.txt /withindex/%2e%2e/%2e%2e/outside/secret.txt \
                  /noindex/..%2F..%2Foutside/secret.txt /hello.txt%00/../../outside/secret.txt \
                  '/..\outside\secret.txt' '/%5c..%5coutside%5csecret.txt' //etc/passwd \
                  /%252e%252e/outside/secret.txt /.. /%2e%2e /withindex/.. \
                  'http://test/../outside/secret.txt' 'http://test/%2e%2e/outside/secret.txt'; do
        raw_request "GET $target HTTP/1.0\r\n\r\n"
        expect_refused "$target" || return 1
    done
    # a target that is not a path at all may be plain 400
    for target in ../outside/secret.txt outside/secret.txt; do
        raw_request "GET $target HTTP/1.0\r\n\r\n"
        expect_refused "$target" '^(400|403|404)$' || return 1
    done
    # %00 must not cut the name short
    raw_request 'GET /hello.txt%00.html HTTP/1.0\r\n\r\n'
    expect_refused /hello.txt%00.html '^(400|403|404)$'
}

# A symlink pointing outside is refused; one staying inside is followed.
check_symlink_out_refused() {
    raw_request 'GET /escape.txt HTTP/1.0\r\n\r\n'
    expect_refused /escape.txt || return 1
    raw_request 'GET /escapedir/secret.txt HTTP/1.0\r\n\r\n'
    expect_refused /escapedir/secret.txt || return 1
    raw_request 'GET /escapedir/ HTTP/1.0\r\n\r\n'
    expect_refused /escapedir/ || return 1
    http_get /inside-link.txt
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/hello.txt"
}

# A file the server cannot read: 403, and its bytes never leak.  Root reads
# everything, so when the tests run as root the server runs as "nobody".
check_403_unreadable() {
    if ((EUID == 0)); then
        command -v setpriv > /dev/null || skip "running as root and setpriv(1) is missing"
        make_path_traversable "$DOCROOT"
        if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$DOCROOT/index.html" -a -x "$SERVER"; then
            skip "user nobody cannot reach $DOCROOT or $SERVER"
        fi
        stop_server
        SERVER_WRAPPER="setpriv --reuid=nobody --regid=nogroup --clear-groups ${SERVER_WRAPPER:-}" start_server ||
            return 1
        [[ $(stat -c %U "/proc/$SERVER_PID") == nobody ]] || fail "the server does not run as nobody" || return 1
    fi
    raw_request 'GET /unreadable.txt HTTP/1.0\r\n\r\n'
    [[ $REPLY_STATUS == 403 ]] || fail "unreadable file answered '$REPLY_STATUS', expected 403" || return 1
    ! grep -qa 'SECRET-UNREADABLE' "$REPLY" || fail "the unreadable file's bytes were sent" || return 1
    expect_framed "$REPLY" || return 1
    # and the server still serves what it can read
    http_get /hello.txt
    expect_status 200
}

# Give "other" search (x) permission on every directory from / down to $1,
# so an unprivileged server can reach the docroot (only our temp dirs change).
make_path_traversable() {
    local dir=$1
    while [[ $dir != / && -n $dir ]]; do
        [[ -O $dir ]] && chmod o+x "$dir" 2>/dev/null
        dir=$(dirname "$dir")
    done
    return 0
}

# "?query" and "#fragment" do not change which file is served.
check_query_and_fragment_ignored() {
    local target
    for target in '/hello.txt?x=1' '/hello.txt?x=1&y=/../../etc/passwd' '/hello.txt#frag' \
                  '/hello.txt?a=b#frag' '/hello.txt?'; do
        raw_request "GET $target HTTP/1.0\r\n\r\n"
        [[ $REPLY_STATUS == 200 ]] || fail "GET $target answered '$REPLY_STATUS', expected 200" || return 1
        reply_body "$REPLY" | cmp -s - "$DOCROOT/hello.txt" || fail "GET $target: wrong body" || return 1
    done
    raw_request 'GET /withindex/?page=2 HTTP/1.0\r\n\r\n'
    [[ $REPLY_STATUS == 200 ]] || fail "GET /withindex/?page=2 answered '$REPLY_STATUS'" || return 1
    reply_body "$REPLY" | cmp -s - "$DOCROOT/withindex/index.html" || fail "GET /withindex/?page=2: wrong body"
}

# %XX is decoded, exactly once.
check_percent_decoding() {
    http_get '/with%20space.txt'
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/with space.txt" || return 1
    http_get '/100%25.txt'
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/100%.txt" || return 1
    http_get '/%68%65%6C%6c%6f.txt'
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/hello.txt" || return 1
    http_get '/mime%2ft.txt'
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/mime/t.txt" || return 1
    # decoded once: "%2520" is "%20" literally, and no file has that name
    http_get '/with%2520space.txt'
    expect_status 404
}
