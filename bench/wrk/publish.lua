-- wrk script of the benchmark's HTTP publish scenario (bench/, Switchboard.Bench compare).
-- Every request is the same POST: BENCH_BODY as a JSON body, with BENCH_TOKEN as a bearer
-- token when set (Switchboard's API needs a Publisher token; the peers take none). At the end
-- it prints one line, "BENCH_RESULT {json}", which the benchmark reads.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or '{"message":"hello"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and #token > 0 then
  wrk.headers["Authorization"] = "Bearer " .. token
end

done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"micros":%d,"non2xx":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"p50us":%d,"p99us":%d,"maxus":%d,"meanus":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
