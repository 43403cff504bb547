-- lb.metrics: counts the data plane's own traffic inside nginx (module "lb.metrics").
--
-- Every proxied location sets $lb_location to "<virtual server> <route> <upstream>" and runs `enter`
-- in its rewrite phase (set_by_lua_block: the result becomes $lb_series, the label set of the request);
-- every virtual server runs `log` in its log phase. Counts go into plain Lua tables of this worker and a
-- timer adds them to the shared dict once a second, so a request costs a few table writes instead of a
-- dozen shared-dict updates (each takes the zone's lock). A worker that starts shutting down (reload)
-- flushes on every request from then on, so nothing counted by a draining worker is lost.
--
-- Every read of ngx.var hashes the variable's name and copies its value: the request path reads only
-- the few variables it needs, and takes status and duration from ngx.status and the request's clock.
--
-- In-flight requests are a gauge per worker: each worker writes its own absolute count under a key
-- with its pid and a TTL, and the exporter sums the keys. A crashed worker's count expires instead
-- of leaking into the gauge forever.
--
-- This file is inlined into nginx.conf through crossplane, whose Lua lexer knows neither escape
-- sequences nor long brackets: it must contain no backslash and no long bracket.

local M = {}

local byte, find, match, gmatch = string.byte, string.find, string.match, string.gmatch
local floor, tonumber, pairs = math.floor, tonumber, pairs

M.DICT = "lb_metrics"
M.SEP = string.char(31)
M.BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
M.CLASSES = { "1xx", "2xx", "3xx", "4xx", "5xx", "none" }
M.FLUSH_S = 1
M.INFLIGHT_TTL_S = 10

local SEP, BUCKETS, CLASSES = M.SEP, M.BUCKETS, M.CLASSES
local NB = #BUCKETS + 1 -- the last bucket is +Inf
local NC = #CLASSES

-- What one series counts, and the dict field each counter is stored under.
local ROUTE = { classes = "req", buckets = "dur", sum = "dsum", x = "bin", y = "bout" }
local SERVER = { classes = "ureq", buckets = "udur", sum = "usum", x = "ucf" }
local UPSTREAM = { x = "uretry", y = "unolive" }

local routes = {} -- "$lb_series" value -> series
local servers = {} -- upstream -> server address -> series
local upstreams = {} -- upstream -> series (retries, no live server)
local dirty, ndirty = {}, 0
local inflight = {} -- upstream -> requests in flight in this worker
local dropped = 0
local exiting = false

local function key_of(field, labels, suffix)
  if suffix then
    return field .. SEP .. labels .. SEP .. suffix
  end
  return field .. SEP .. labels
end

-- Keys are built once per series and worker, never per request.
local function new_series(kind, labels)
  local s = { classes = {}, buckets = {}, sum = 0, x = 0, y = 0, dirty = false, keys = {} }
  for c = 1, NC do
    s.classes[c] = 0
  end
  for b = 1, NB do
    s.buckets[b] = 0
  end
  local keys = s.keys
  if kind.classes then
    keys.classes, keys.buckets = {}, {}
    for c = 1, NC do
      keys.classes[c] = key_of(kind.classes, labels, CLASSES[c])
    end
    for b = 1, NB do
      keys.buckets[b] = key_of(kind.buckets, labels, b)
    end
    keys.sum = key_of(kind.sum, labels)
  end
  keys.x = kind.x and key_of(kind.x, labels)
  keys.y = kind.y and key_of(kind.y, labels)
  return s
end

local function touch(s)
  if not s.dirty then
    s.dirty = true
    ndirty = ndirty + 1
    dirty[ndirty] = s
  end
end

-- A binary search without a loop: LuaJIT cannot compile a loop inside the trace of `log`, and
-- without a trace every ngx.var read there runs in the interpreter, several times slower.
local B1, B2, B3, B4, B5, B6 = BUCKETS[1], BUCKETS[2], BUCKETS[3], BUCKETS[4], BUCKETS[5], BUCKETS[6]
local B7, B8, B9, B10, B11 = BUCKETS[7], BUCKETS[8], BUCKETS[9], BUCKETS[10], BUCKETS[11]

local function bucket_of(t)
  if t <= B5 then
    if t <= B2 then
      return t <= B1 and 1 or 2
    end
    return t <= B3 and 3 or (t <= B4 and 4 or 5)
  end
  if t <= B8 then
    return t <= B6 and 6 or (t <= B7 and 7 or 8)
  end
  return t <= B9 and 9 or (t <= B10 and 10 or (t <= B11 and 11 or 12))
end

-- "200" -> 2; anything but 1xx..5xx (an upstream that never answered shows "-") -> "none".
local function class_of(status)
  local c = status and byte(status, 1)
  if c and c >= 49 and c <= 53 then
    return c - 48
  end
  return NC
end

local function class_of_number(status)
  local c = floor(status / 100)
  if c >= 1 and c <= 5 then
    return c
  end
  return NC
end

local function route_series(series)
  local s = routes[series]
  if s then
    return s
  end
  local vs, route, up = match(series, "^(%S+) (%S+) (%S+)$")
  if not vs then
    vs, route, up = series, "", ""
  end
  s = new_series(ROUTE, vs .. SEP .. route .. SEP .. up)
  s.upstream = up
  routes[series] = s
  return s
end

local function server_series(up, address)
  local by_address = servers[up]
  if not by_address then
    by_address = {}
    servers[up] = by_address
  end
  local s = by_address[address]
  if not s then
    s = new_series(SERVER, up .. SEP .. address)
    by_address[address] = s
  end
  return s
end

local function upstream_series(up)
  local s = upstreams[up]
  if not s then
    s = new_series(UPSTREAM, up)
    upstreams[up] = s
  end
  return s
end

local function add(dict, key, delta)
  local _, err, forcible = dict:incr(key, delta, 0)
  if err or forcible then
    dropped = dropped + 1
  end
end

local function flush_series(dict, s)
  local keys = s.keys
  if keys.classes then
    local classes, buckets = s.classes, s.buckets
    for c = 1, NC do
      if classes[c] ~= 0 then
        add(dict, keys.classes[c], classes[c])
        classes[c] = 0
      end
    end
    for b = 1, NB do
      if buckets[b] ~= 0 then
        add(dict, keys.buckets[b], buckets[b])
        buckets[b] = 0
      end
    end
    if s.sum ~= 0 then
      add(dict, keys.sum, s.sum)
      s.sum = 0
    end
  end
  if s.x ~= 0 then
    add(dict, keys.x, s.x)
    s.x = 0
  end
  if s.y ~= 0 then
    add(dict, keys.y, s.y)
    s.y = 0
  end
  s.dirty = false
end

-- Adds this worker's counts to the shared dict and republishes its in-flight gauges.
function M.flush()
  local dict = ngx.shared[M.DICT]
  if not dict then
    return
  end
  for i = 1, ndirty do
    flush_series(dict, dirty[i])
    dirty[i] = nil
  end
  ndirty = 0
  local pid = ngx.worker.pid()
  for up, n in pairs(inflight) do
    dict:set(key_of("inflight", up, pid), n, M.INFLIGHT_TTL_S)
  end
  if dropped ~= 0 then
    dict:incr("dropped", dropped, 0)
    dropped = 0
  end
end

local function on_timer(premature)
  M.flush()
  if premature then
    exiting = true
  end
end

-- init_by_lua, in the master, each time nginx loads its configuration (start and every reload).
function M.config_loaded()
  local dict = ngx.shared[M.DICT]
  if dict then
    dict:incr("reloads", 1, 0)
  end
end

function M.init_worker()
  if not ngx.shared[M.DICT] then
    return
  end
  local ok, err = ngx.timer.every(M.FLUSH_S, on_timer)
  if not ok then
    ngx.log(ngx.ERR, "lb.metrics: no flush timer, counts stay in this worker: ", err)
  end
end

local function leave(up)
  inflight[up] = (inflight[up] or 1) - 1
end

-- set_by_lua_block of a proxied location, after `set $lb_location "<vs> <route> <upstream>"`; its
-- result becomes $lb_series. $lb_series is declared by a `map` (default ""), so it keeps its value
-- across internal redirects: a request redirected from another proxied location moves its in-flight
-- count instead of leaking it.
function M.enter()
  local var = ngx.var
  local previous = var.lb_series
  if previous ~= "" then
    leave(route_series(previous).upstream)
  end
  local series = var.lb_location
  local up = route_series(series).upstream
  inflight[up] = (inflight[up] or 0) + 1
  if exiting then
    M.flush()
  end
  return series
end

local function attempt(up, address, status, seconds, connect_failed)
  if not find(address, ":", 1, true) then
    -- nginx names the upstream itself when no server was available ("no live upstreams").
    local u = upstream_series(up)
    u.y = u.y + 1
    touch(u)
    return
  end
  local s = server_series(up, address)
  local c = class_of(status)
  s.classes[c] = s.classes[c] + 1
  local t = tonumber(seconds)
  if t then
    local b = bucket_of(t)
    s.buckets[b] = s.buckets[b] + 1
    s.sum = s.sum + t
  end
  if connect_failed then
    s.x = s.x + 1
  end
  touch(s)
end

-- A connect that failed shows "-" as its connect time; only 502 and 504 can be one.
local function maybe_connect_failure(status)
  return status == "502" or status == "504"
end

-- nginx lists tries as "a, b : c": ", " between servers of one upstream, " : " between upstreams
-- (internal redirects). Each list ($upstream_addr, _status, _response_time) has the same shape.
local function many_attempts(up, var, addresses, statuses, times)
  local next_status, next_time = gmatch(statuses, "[^ ,]+"), gmatch(times, "[^ ,]+")
  local next_connect
  local tries, groups = 0, 1
  for address in gmatch(addresses, "[^ ,]+") do
    local status, seconds = next_status(), next_time()
    local connect
    if next_connect then
      connect = next_connect()
    elseif maybe_connect_failure(status) then
      next_connect = gmatch(var.upstream_connect_time or "", "[^ ,]+")
      for _ = 1, tries + groups - 1 do
        next_connect()
      end
      connect = next_connect()
    end
    if address == ":" then
      groups = groups + 1
    else
      tries = tries + 1
      attempt(up, address, status, seconds, maybe_connect_failure(status) and connect == "-")
    end
  end
  if tries > groups then
    local u = upstream_series(up)
    u.x = u.x + tries - groups
    touch(u)
  end
end

local function count_attempts(up, var)
  local addresses = var.upstream_addr
  if not addresses then
    return
  end
  local statuses, times = var.upstream_status or "", var.upstream_response_time or ""
  if find(addresses, " ", 1, true) then
    many_attempts(up, var, addresses, statuses, times)
    return
  end
  local failed = maybe_connect_failure(statuses) and var.upstream_connect_time == "-"
  attempt(up, addresses, statuses, times, failed)
end

-- log_by_lua of every virtual server: $lb_series is "" outside proxied locations (a 404 of the site).
function M.log()
  local var = ngx.var
  local series = var.lb_series
  if series == "" then
    series = var.lb_vs
  end
  local s = route_series(series)
  local c = class_of_number(ngx.status)
  s.classes[c] = s.classes[c] + 1
  local t = ngx.now() - ngx.req.start_time()
  local b = bucket_of(t)
  s.buckets[b] = s.buckets[b] + 1
  s.sum = s.sum + t
  s.x = s.x + tonumber(var.request_length)
  s.y = s.y + tonumber(var.bytes_sent)
  touch(s)
  local up = s.upstream
  if up ~= "" then
    leave(up)
    count_attempts(up, var)
  end
  if exiting then
    M.flush()
  end
end

return M
