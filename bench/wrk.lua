-- The wrk script of `npm run bench -- http` (bench/http.ts writes the requests, runs `wrk -t1 -s bench/wrk.lua URL --
-- REQUESTS.lua` and reads the last line of its output).
--
-- REQUESTS.lua returns { status = <expected status>, tag = <unique per run>, headers = {...}, requests = {...} },
-- each request { method, path, body } with body false (none), a string, or a list of strings to be joined by a text
-- unique to this request (a POST's userName). The requests are sent in order, round and round, on all connections.
-- Every response whose status is not the expected one is counted; done() prints one JSON line:
-- {"wrk":1,"requests":N,"seconds":S,"p50":MS,"p99":MS,"wrong":N,"wrongStatus":N,"connect":N,"read":N,"write":N,"timeout":N}

local spec, prepared, n, i, serial, expected
wrong = 0
wrongStatus = 0

function init(args)
  spec = dofile(args[1])
  expected = spec.status
  prepared = {}
  for k, r in ipairs(spec.requests) do
    -- A fixed request is formatted once; one with a unique part is formatted when sent.
    prepared[k] = type(r[3]) == "table" and r or wrk.format(r[1], r[2], spec.headers, r[3] or nil)
  end
  n = #prepared
  i = 0
  serial = 0
end

function request()
  i = i % n + 1
  local r = prepared[i]
  if type(r) == "string" then return r end
  serial = serial + 1
  return wrk.format(r[1], r[2], spec.headers, table.concat(r[3], spec.tag .. "-" .. serial))
end

function response(status)
  if status ~= expected then
    wrong = wrong + 1
    wrongStatus = status
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local bad, last = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("wrong")
    if t:get("wrongStatus") ~= 0 then last = t:get("wrongStatus") end
  end
  local e = summary.errors
  io.write(string.format(
    '{"wrk":1,"requests":%d,"seconds":%.6f,"p50":%.3f,"p99":%.3f,"wrong":%d,"wrongStatus":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    bad, last, e.connect, e.read, e.write, e.timeout))
end
