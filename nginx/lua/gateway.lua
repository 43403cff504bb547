-- lb.gateway: content-aware routing, canaries and cookie session affinity (module "lb.gateway").
--
-- The compiled revision hands this module one JSON document (base64 in the init block, see
-- nginx/gateway_lua.py): operator values only ever arrive here as data, never as code.
--
--   route()         rewrite phase of a routed site's `location /`: tries the site's routes in their
--                   compiled order (nginx/routing.py documents the precedence; its Python matcher is the
--                   reference this code must agree with), applies the path rewrite, and jumps to the
--                   route's named location, or to the site's default one.
--   balance()       balancer of an upstream with cookie affinity: the member named by the cookie while
--                   it is enabled or draining, otherwise a weighted random choice among enabled members
--                   (backups only when no primary is enabled); retries move to members not tried yet.
--   sticky_cookie() header filter: issues the cookie when the member that answered is not the one the
--                   client named.
--
-- This file is inlined into nginx.conf through crossplane, whose Lua lexer knows neither escape
-- sequences nor long brackets: it must contain no backslash and no long bracket.

local cjson = require("cjson.safe")
local balancer = require("ngx.balancer")

local M = {}

local re_find = ngx.re.find
local var = ngx.var
local sites, pools = {}, {}
local seeded = false

function M.load(blob)
  local data, err = cjson.decode(ngx.decode_base64(blob) or "")
  if not data then
    error("lb.gateway: the compiled gateway data does not decode: " .. tostring(err))
  end
  sites = data.sites
  pools = data.pools
  for _, pool in pairs(pools) do
    pool.by_id = {}
    for _, member in ipairs(pool.members) do
      pool.by_id[member.id] = member
    end
  end
end

local function host_ok(want, host)
  if want == nil then
    return true
  end
  if want.exact then
    return host == want.exact
  end
  local n = #want.suffix
  return #host > n and host:sub(-n) == want.suffix
end

local function path_ok(path, uri)
  if path.kind == "exact" then
    return uri == path.value
  end
  if path.kind == "regex" then
    return re_find(uri, path.value, "jo") ~= nil
  end
  local prefix = path.value
  if uri:sub(1, #prefix) ~= prefix then
    return false
  end
  if prefix:sub(-1) == "/" then
    return true
  end
  local after = uri:sub(#prefix + 1, #prefix + 1)
  return after == "" or after == "/"
end

local function value_ok(cond)
  if cond == nil then
    return true
  end
  local value = var[cond.var]
  if value == nil or value == "" then
    return false
  end
  if cond.op == "present" then
    return true
  end
  if cond.op == "equals" then
    return value == cond.value
  end
  return re_find(value, cond.value, "jo") ~= nil
end

local function matches(route, uri, host, method)
  return (route.methods == nil or route.methods[method] == true)
    and host_ok(route.host, host)
    and path_ok(route.path, uri)
    and value_ok(route.header)
    and value_ok(route.cookie)
    and value_ok(route.query)
end

-- The same arithmetic as nginx/routing.py `rewritten`.
local function rewritten(rewrite, uri)
  local rest = uri:sub(#rewrite.from + 1)
  if rewrite.from:sub(-1) == "/" then
    rest = "/" .. rest
  end
  local result = rewrite.to .. rest
  if result == "" then
    return "/"
  end
  return result
end

local function target_of(route)
  local canary = route.canary
  if canary == nil then
    return route.target
  end
  local header, cookie = canary.header, canary.cookie
  if header and var[header.var] == header.value then
    return canary.target
  end
  if cookie and var[cookie.var] == cookie.value then
    return canary.target
  end
  if canary.weight > 0 and ngx.crc32_short(var.request_id) % 100 < canary.weight then
    return canary.target
  end
  return route.target
end

function M.route()
  local site = sites[var.lb_site]
  local uri, host, method = var.uri, var.host, var.request_method
  for _, route in ipairs(site.routes) do
    if matches(route, uri, host, method) then
      if route.rewrite then
        ngx.req.set_uri(rewritten(route.rewrite, uri), false)
      end
      return ngx.exec(target_of(route))
    end
  end
  return ngx.exec(site.default)
end

local function pick_new(pool, tried)
  for _, backup in ipairs({ false, true }) do
    local total, candidates = 0, {}
    for _, member in ipairs(pool.members) do
      if member.state == "enabled" and member.backup == backup and not tried[member.id] then
        total = total + member.weight
        candidates[#candidates + 1] = member
      end
    end
    if total > 0 then
      local point = math.random() * total
      for _, member in ipairs(candidates) do
        point = point - member.weight
        if point < 0 then
          return member
        end
      end
      return candidates[#candidates]
    end
  end
  return nil
end

function M.balance()
  if not seeded then
    math.randomseed(ngx.worker.pid() * 1000 + ngx.now() * 1000)
    seeded = true
  end
  local ctx = ngx.ctx
  local state = ctx.lb_sticky
  local member
  if state == nil then
    local pool = pools[var.lb_pool]
    state = { pool = pool, tried = {} }
    ctx.lb_sticky = state
    local named = pool.by_id[var["cookie_" .. pool.cookie.name] or ""]
    -- A draining member keeps the clients bound to it; only enabled members take new ones.
    if named and (named.state == "enabled" or named.state == "drain") then
      member = named
    end
    if #pool.members > 1 then
      balancer.set_more_tries(#pool.members - 1)
    end
  else
    state.tried[state.member.id] = true
  end
  member = member or pick_new(state.pool, state.tried)
  if member == nil then
    error("lb.gateway: no usable member in upstream " .. tostring(var.lb_pool))
  end
  state.member = member
  local ok, err = balancer.set_current_peer(member.host, member.port)
  if not ok then
    error("lb.gateway: " .. tostring(err))
  end
end

function M.sticky_cookie()
  local state = ngx.ctx.lb_sticky
  if state == nil or state.member == nil then
    return
  end
  local cookie = state.pool.cookie
  local id = state.member.id
  if var["cookie_" .. cookie.name] == id then
    return
  end
  local parts = { cookie.name .. "=" .. id, "Path=" .. cookie.path }
  if cookie.ttl > 0 then
    parts[#parts + 1] = "Max-Age=" .. cookie.ttl
  end
  if cookie.secure then
    parts[#parts + 1] = "Secure"
  end
  if cookie.http_only then
    parts[#parts + 1] = "HttpOnly"
  end
  parts[#parts + 1] = "SameSite=" .. cookie.same_site
  local line = table.concat(parts, "; ")
  local existing = ngx.header["Set-Cookie"]
  if existing == nil then
    ngx.header["Set-Cookie"] = line
  elseif type(existing) == "table" then
    existing[#existing + 1] = line
    ngx.header["Set-Cookie"] = existing
  else
    ngx.header["Set-Cookie"] = { existing, line }
  end
end

return M
