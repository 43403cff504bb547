-- wrk reporter: at the end of a run, print one line "WRK_REPORT {json}" with the totals, socket errors by
-- kind, answers by status code, latency percentiles and a compact latency histogram (microseconds,
-- the quantile function sampled at fixed points) so that runs can be merged into overall percentiles.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- Quantiles sampled for merging: every percent, then the tail.
local QUANTILES = {}
for q = 1, 99 do table.insert(QUANTILES, q) end
for _, q in ipairs({99.5, 99.9, 99.99, 100}) do table.insert(QUANTILES, q) end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    for code, n in pairs(seen or {}) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  local qparts = {}
  if summary.requests > 0 then
    for _, q in ipairs(QUANTILES) do
      table.insert(qparts, string.format("[%s,%d]", q, latency:percentile(q)))
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_REPORT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"statuses":{%s},"latency_us":{"min":%d,"max":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p99.9":%d},' ..
    '"quantiles_us":[%s]}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    table.concat(parts, ","), latency.min, latency.max, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(qparts, ",")))
end
