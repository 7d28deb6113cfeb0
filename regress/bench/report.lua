-- report.lua: wrk script for the bench.  WRK_METHOD (GET or HEAD) and
-- WRK_ACCEPT come from the environment; done() prints one line the bench
-- parses:
--   RESULT requests bytes duration_us errors non2xx p50_us p99_us max_us

wrk.method = os.getenv("WRK_METHOD") or "GET"
local accept = os.getenv("WRK_ACCEPT")
if accept ~= nil and accept ~= "" then
	wrk.headers["Accept"] = accept
end

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %d %d %d %d %d %d %d\n",
	    summary.requests, summary.bytes, summary.duration,
	    e.connect + e.read + e.write + e.timeout, e.status,
	    latency:percentile(50), latency:percentile(99), latency.max))
end
