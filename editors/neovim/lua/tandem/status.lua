-- The last `tandem/status` notification, and its statusline text.
local M = { last = nil }

local function num(x)
  return type(x) == 'number' and x or nil
end

-- Pure: a status object (protocol.py) → short text, e.g. "Tandem 42ms 120tok/s spec 87%".
function M.format(status)
  if type(status) ~= 'table' then
    return 'Tandem: off'
  end
  local state = status.state or '?'
  if state ~= 'ready' then
    return 'Tandem: ' .. state
  end
  local parts = { 'Tandem' }
  local health = type(status.health) == 'table' and status.health or {}
  if health.state == 'slow' then
    table.insert(parts, 'slow')
  end
  local req = type(status.request) == 'table' and status.request or nil
  if req then
    local latency = num(req.latencyMs)
    if latency then
      table.insert(parts, string.format('%dms', math.floor(latency + 0.5)))
    end
    if req.cached then
      table.insert(parts, 'cached')
    end
    local stats = type(req.stats) == 'table' and req.stats or {}
    local tps = num(stats.tokens_per_second)
    if tps and tps > 0 then
      table.insert(parts, string.format('%.0ftok/s', tps))
    end
    local rate, drafted = num(stats.acceptance_rate), num(stats.drafted_tokens)
    if rate and drafted and drafted > 0 then
      table.insert(parts, string.format('spec %.0f%%', rate * 100))
    end
  end
  local session = type(status.session) == 'table' and status.session or {}
  local rate = num(session.acceptanceRate)
  if rate then
    table.insert(parts, string.format('acc %.0f%%', rate * 100))
  end
  return table.concat(parts, ' ')
end

-- Pure: longer lines for :Tandem status (session numbers, health and its hint).
function M.details(status)
  if type(status) ~= 'table' then
    return {}
  end
  local lines = {}
  local s = type(status.session) == 'table' and status.session or nil
  if s then
    table.insert(lines, string.format('shown %d, accepted %d (+%d in part), %d chars; latency p50 %s / p90 %s ms',
      s.shown or 0, s.accepted or 0, s.partiallyAccepted or 0, s.acceptedChars or 0,
      num(s.latencyP50Ms) and string.format('%.0f', s.latencyP50Ms) or '-',
      num(s.latencyP90Ms) and string.format('%.0f', s.latencyP90Ms) or '-'))
  end
  local h = type(status.health) == 'table' and status.health or nil
  if h and h.state then
    table.insert(lines, 'health: ' .. h.state .. (h.reason and (' (' .. h.reason .. ')') or '')
      .. (h.hint and ('; hint: ' .. h.hint) or ''))
  end
  return lines
end

function M.update(status)
  M.last = status
  vim.schedule(function()
    pcall(vim.cmd.redrawstatus)
    vim.api.nvim_exec_autocmds('User', { pattern = 'TandemStatus', modeline = false, data = status })
  end)
end

return M
