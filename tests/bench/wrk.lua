-- wrk's script for `tombola-bench`: sends the request the arguments name
-- and prints the run's figures as one line of JSON when it is done.
--
--   wrk ... -s wrk.lua URL -- get
--   wrk ... -s wrk.lua URL -- draw <prefix> <count>
--
-- `draw` posts `{"request_id": "<prefix>-<thread>-<n>", "count": <count>}`
-- to the URL's path, n counting each thread's requests from 1, so no two
-- requests of a run (nor of runs with different prefixes) share an id.

local threads = 0

function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

function init(args)
  mode = args[1]
  sent = 0
  if mode == "draw" then
    head = '{"request_id":"' .. args[2] .. '-' .. thread_no .. '-'
    tail = '","count":' .. args[3] .. '}'
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  elseif mode ~= "get" then
    error("wrk.lua takes get, or draw <prefix> <count>")
  end
end

function request()
  if mode == "get" then
    return wrk.request()
  end
  sent = sent + 1
  return wrk.format(nil, nil, nil, head .. sent .. tail)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%.1f,"p99_us":%.1f,"p999_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9)))
end
