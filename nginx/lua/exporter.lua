-- lb.exporter: the status listener's /metrics in Prometheus text format (module "lb.exporter").
--
-- Only label sets the running configuration still contains are exported: the compiled config lists
-- them in `set $lb_allow_<n> "<entry>"` directives of the /metrics location (entries "site <vs>",
-- "route <vs> <route> <upstream>", "upstream <name>", "server <upstream> <address>", and
-- "resolved <upstream>" for upstreams with host-name members, whose addresses nginx resolves itself).
-- Keys of anything else (a removed server, route or upstream) are deleted from the shared dict here,
-- which keeps both the output and the dict bounded by the configuration.
--
-- Inlined into nginx.conf through crossplane: no backslash and no long bracket in this file.

local metrics = require("lb.metrics")

local E = {}

local concat, sort = table.concat, table.sort
local find, format, gsub, match, sub = string.find, string.format, string.gsub, string.match, string.sub
local floor, ipairs, pairs, tonumber = math.floor, ipairs, pairs, tonumber

local SEP = metrics.SEP
local NB = #metrics.BUCKETS + 1
local BACKSLASH, NEWLINE = string.char(92), string.char(10)
local UNSAFE = "[" .. BACKSLASH .. '"' .. NEWLINE .. "]"
local ESCAPES = { [BACKSLASH] = BACKSLASH .. BACKSLASH, ['"'] = BACKSLASH .. '"', [NEWLINE] = BACKSLASH .. "n" }

-- Field of a dict key -> family, kind and label names, in output order.
local FAMILIES = {
  { field = "req", name = "lb_requests_total", type = "counter",
    labels = { "virtual_server", "route", "upstream", "status_class" },
    help = "Requests answered, by virtual server, route, upstream and status class." },
  { field = "dur", sum = "dsum", name = "lb_request_duration_seconds", type = "histogram",
    labels = { "virtual_server", "route", "upstream" },
    help = "Time from the first byte read from the client to the last byte sent ($request_time)." },
  { field = "bin", name = "lb_request_bytes_total", type = "counter",
    labels = { "virtual_server", "route", "upstream" },
    help = "Bytes received from clients, request line and headers included." },
  { field = "bout", name = "lb_response_bytes_total", type = "counter",
    labels = { "virtual_server", "route", "upstream" },
    help = "Bytes sent to clients." },
  { field = "ureq", name = "lb_upstream_requests_total", type = "counter",
    labels = { "upstream", "server", "status_class" },
    help = "Tries sent to each upstream server, by the status class of its answer (none: no answer)." },
  { field = "udur", sum = "usum", name = "lb_upstream_response_duration_seconds", type = "histogram",
    labels = { "upstream", "server" },
    help = "Time to receive the whole answer of an upstream server ($upstream_response_time)." },
  { field = "ucf", name = "lb_upstream_connect_failures_total", type = "counter",
    labels = { "upstream", "server" },
    help = "Tries whose connection to the upstream server failed or timed out." },
  { field = "uretry", name = "lb_upstream_retries_total", type = "counter",
    labels = { "upstream" },
    help = "Tries beyond the first one (passive failover to the next server)." },
  { field = "unolive", name = "lb_upstream_unavailable_total", type = "counter",
    labels = { "upstream" },
    help = "Requests that found no live server in the upstream." },
  { field = "inflight", name = "lb_upstream_inflight_requests", type = "gauge",
    labels = { "upstream" },
    help = "Requests in flight to the upstream, as of the workers' last flush (at most a second old)." },
}

local BY_FIELD = {}
for _, family in ipairs(FAMILIES) do
  BY_FIELD[family.field] = family
  if family.sum then
    BY_FIELD[family.sum] = family
  end
end

local function split(key)
  local parts, start = {}, 1
  while true do
    local at = find(key, SEP, start, true)
    if not at then
      parts[#parts + 1] = sub(key, start)
      return parts
    end
    parts[#parts + 1] = sub(key, start, at - 1)
    start = at + 1
  end
end

local function allow_list()
  local var, allowed, n = ngx.var, {}, 1
  while true do
    local entry = var["lb_allow_" .. n]
    if not entry then
      return allowed
    end
    allowed[entry] = true
    n = n + 1
  end
end

-- Is the label set of a key (parts after the field) still in the configuration?
local function is_allowed(allowed, family, parts)
  local labels = family.labels
  if labels[1] == "virtual_server" then
    if parts[4] == "" then
      return allowed["site " .. parts[2]]
    end
    return allowed["route " .. parts[2] .. " " .. parts[3] .. " " .. parts[4]]
  end
  if labels[2] == "server" then
    return allowed["server " .. parts[2] .. " " .. parts[3]] or allowed["resolved " .. parts[2]]
  end
  return allowed["upstream " .. parts[2]]
end

local function number(value)
  if value == floor(value) and value > -1e15 and value < 1e15 then
    return format("%d", value)
  end
  return format("%.15g", value)
end

local function label_text(names, parts)
  local out = {}
  for i = 1, #names do
    out[i] = names[i] .. '="' .. gsub(parts[i + 1], UNSAFE, ESCAPES) .. '"'
  end
  return concat(out, ",")
end

-- Collects every allowed key into per-family series; deletes the keys of removed objects.
local function collect(dict, allowed, purge)
  local series = {}
  for _, key in ipairs(dict:get_keys(0)) do
    local parts = split(key)
    local family = BY_FIELD[parts[1]]
    local value = family and dict:get(key)
    if family and value and is_allowed(allowed, family, parts) then
      local plain = family.type ~= "histogram"
      local text = label_text(family.labels, parts)
      local by_labels = series[family.name] or {}
      series[family.name] = by_labels
      if plain then
        by_labels[text] = (by_labels[text] or 0) + value
      else
        local h = by_labels[text] or { buckets = {}, sum = 0 }
        by_labels[text] = h
        if parts[1] == family.sum then
          h.sum = h.sum + value
        else
          local b = tonumber(parts[#parts])
          h.buckets[b] = (h.buckets[b] or 0) + value
        end
      end
    elseif family and value and purge then
      dict:delete(key)
    end
  end
  return series
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  sort(keys)
  return keys
end

local function histogram_lines(out, name, labels, h)
  local cumulative = 0
  for b = 1, NB do
    cumulative = cumulative + (h.buckets[b] or 0)
    local le = b < NB and number(metrics.BUCKETS[b]) or "+Inf"
    out[#out + 1] = name .. "_bucket{" .. labels .. ',le="' .. le .. '"} ' .. number(cumulative)
  end
  out[#out + 1] = name .. "_sum{" .. labels .. "} " .. number(h.sum)
  out[#out + 1] = name .. "_count{" .. labels .. "} " .. number(cumulative)
end

local function family_lines(out, family, by_labels)
  out[#out + 1] = "# HELP " .. family.name .. " " .. family.help
  out[#out + 1] = "# TYPE " .. family.name .. " " .. family.type
  for _, labels in ipairs(sorted_keys(by_labels or {})) do
    local value = by_labels[labels]
    if family.type == "histogram" then
      histogram_lines(out, family.name, labels, value)
    else
      out[#out + 1] = family.name .. "{" .. labels .. "} " .. number(value)
    end
  end
end

local function scalar(out, name, kind, help, value)
  out[#out + 1] = "# HELP " .. name .. " " .. help
  out[#out + 1] = "# TYPE " .. name .. " " .. kind
  out[#out + 1] = name .. " " .. number(value)
end

-- nginx's own connection counters, from the stub_status location of the status listener.
local function connection_lines(out)
  local res = ngx.location.capture("/stub_status")
  local body = res and res.status == 200 and res.body or ""
  local active = tonumber(match(body, "Active connections: (%d+)"))
  local accepted, handled, requests = match(body, "(%d+) (%d+) (%d+)")
  local reading, writing, waiting = match(body, "Reading: (%d+) Writing: (%d+) Waiting: (%d+)")
  if not (active and accepted and reading) then
    return
  end
  scalar(out, "nginx_connections_active", "gauge", "Open client connections, idle ones included.", active)
  scalar(out, "nginx_connections_reading", "gauge", "Connections reading a request header.", tonumber(reading))
  scalar(out, "nginx_connections_writing", "gauge", "Connections writing a response.", tonumber(writing))
  scalar(out, "nginx_connections_waiting", "gauge", "Idle keep-alive connections.", tonumber(waiting))
  scalar(out, "nginx_connections_accepted_total", "counter", "Client connections accepted.", tonumber(accepted))
  scalar(out, "nginx_connections_handled_total", "counter", "Client connections handled.", tonumber(handled))
  scalar(out, "nginx_http_requests_total", "counter", "Client requests, status listener included.", tonumber(requests))
end

-- content_by_lua of the status listener's /metrics.
function E.serve()
  local dict = ngx.shared[metrics.DICT]
  if not dict then
    ngx.exit(ngx.HTTP_NOT_FOUND)
  end
  metrics.flush()
  -- A worker that is shutting down may still hold the previous configuration: it must not purge.
  local series = collect(dict, allow_list(), not ngx.worker.exiting())
  local out = {}
  for _, family in ipairs(FAMILIES) do
    family_lines(out, family, series[family.name])
  end
  connection_lines(out)
  scalar(out, "lb_config_reloads_total", "counter",
    "Configuration loads of this nginx (its start and every reload) since the metrics dict was created.",
    dict:get("reloads") or 0)
  local revision = tonumber(ngx.var.lb_revision)
  if revision then
    scalar(out, "lb_config_revision", "gauge", "Configuration revision this node serves.", revision)
  end
  scalar(out, "lb_metrics_shm_free_bytes", "gauge", "Free space in the metrics shared dict.", dict:free_space())
  scalar(out, "lb_metrics_dropped_updates_total", "counter",
    "Counter updates the full metrics shared dict could not store.", dict:get("dropped") or 0)
  ngx.header["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
  ngx.print(concat(out, NEWLINE), NEWLINE)
end

return E
