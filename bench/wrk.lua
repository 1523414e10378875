-- wrk script for bench/load.sh.
--
-- WRK_PATH: the request path (default "/").
-- TOKENS_FILE: lines of "token fingerprint"; each request presents the next
--   pair (Authorization: Bearer and the fingerprint cookie), round robin.
--   Without it every request is a plain GET.
-- Prints one line "RESULT ..." that load.sh parses (latencies in µs).

local requests = {}
local next_index = 0

function init(args)
   local path = os.getenv("WRK_PATH") or "/"
   local file = os.getenv("TOKENS_FILE")
   if file and file ~= "" then
      for line in io.lines(file) do
         local token, fp = line:match("^(%S+) (%S+)$")
         if token then
            requests[#requests + 1] = wrk.format("GET", path, {
               ["Authorization"] = "Bearer " .. token,
               ["Cookie"] = "__Host-portcullis-fp=" .. fp,
            })
         end
      end
   end
   if #requests == 0 then
      requests[1] = wrk.format("GET", path)
   end
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function done(summary, latency, _)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d socket_errors=%d non2xx=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout, e.status))
end
