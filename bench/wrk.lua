-- bench/wrk.lua — the wrk script of bench/run.sh.
--
-- It does two things, both steered by environment variables so that one
-- script serves every workload:
--   BENCH_CLOSE=1   send "Connection: close" (a new TCP connection per request)
--   BENCH_OUT=FILE  where done() writes the results, one "key value" per line
--   BENCH_MAX=N     (with wrk -t 1) stop after N replies and create the file
--   BENCH_DONE=FILE BENCH_DONE: the harness then ends wrk with SIGINT, which
--                   reports at once (wrk itself would wait out -d)
--
-- The harness reads FILE, never wrk's human-readable report: numbers keep
-- their full precision and units (latencies are microseconds, durations
-- microseconds, bytes bytes).

if os.getenv("BENCH_CLOSE") == "1" then
    wrk.headers["Connection"] = "close"
end

local max = tonumber(os.getenv("BENCH_MAX") or "")
if max then
    local replies = 0
    function response()
        replies = replies + 1
        if replies == max then
            wrk.thread:stop()
            local mark = os.getenv("BENCH_DONE")
            if mark then
                assert(io.open(mark, "w")):close()
            end
        end
    end
end

function done(summary, latency, requests)
    local path = os.getenv("BENCH_OUT")
    if not path then
        return
    end
    local out = assert(io.open(path, "w"))
    local function put(key, value)
        out:write(string.format("%s %s\n", key, value))
    end
    local e = summary.errors
    put("duration_us", summary.duration)
    put("requests", summary.requests)
    put("bytes", summary.bytes)
    put("err_connect", e.connect)
    put("err_read", e.read)
    put("err_write", e.write)
    put("err_timeout", e.timeout)
    put("err_status", e.status)        -- responses with status >= 400
    -- Latency of the requests that completed; timed-out ones are counted above.
    put("lat_mean_us", string.format("%.1f", latency.mean))
    put("lat_max_us", latency.max)
    put("lat_p50_us", latency:percentile(50))
    put("lat_p90_us", latency:percentile(90))
    put("lat_p99_us", latency:percentile(99))
    out:close()
end
