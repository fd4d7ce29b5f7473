-- Ghost text for Neovim 0.10/0.11: request textDocument/inlineCompletion, draw it with extmarks
-- (virt_text inline for the first line, virt_lines for the rest), accept all/word/line, dismiss,
-- cycle through several candidates, and report show/accept events (tandem/did*Completion).
local client_mod = require('tandem.client')
local config = require('tandem.config')
local text = require('tandem.text')

local M = {}
local ns = vim.api.nvim_create_namespace('tandem_ghost')
local timer = nil
-- The visible suggestion: { bufnr, row, col, tick, text, extmark, id, full, done }.
-- `full` is the whole suggestion as the server sent it, `done` the bytes of it already inserted.
local shown = nil
-- Candidates for the current position: { bufnr, row, col, tick, list = { {text, id} }, index }.
local cands = nil
local reported = {} -- id → true once tandem/didShowCompletion was sent
-- The request in flight: { client, id }.
local pending = nil
local disabled = {} -- bufnr → true after :Tandem toggle

function M.current()
  return shown
end

function M.visible()
  return shown ~= nil
end

-- The candidates for the current position ({ {text, id} }, index), or nil.
function M.candidates()
  return cands and { list = cands.list, index = cands.index } or nil
end

local function cancel_pending()
  if pending then
    pcall(client_mod.cancel, pending.client, pending.id)
    pending = nil
  end
end

function M.clear()
  if shown then
    pcall(vim.api.nvim_buf_clear_namespace, shown.bufnr, ns, 0, -1)
    shown = nil
  end
end

-- Pure: the id the server put into an item's command ({command, arguments = {{id}}}).
function M.item_id(item)
  local cmd = type(item) == 'table' and item.command or nil
  local arg = type(cmd) == 'table' and type(cmd.arguments) == 'table' and cmd.arguments[1] or nil
  return type(arg) == 'table' and arg.id or nil
end

local function send_event(bufnr, method, params)
  local client = client_mod.get(bufnr)
  if client and params.id then
    pcall(client_mod.notify, client, method, params)
  end
end

function M.dismiss()
  cancel_pending()
  if timer then
    timer:stop()
  end
  M.clear()
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

-- Draw `suggestion` at (row, col) as the current suggestion (0-based row, byte col).
-- `meta` = { id, full, done } ties it to the server's suggestion for events (optional).
function M.show(bufnr, row, col, suggestion, meta)
  M.clear()
  meta = meta or {}
  local hl = config.options.ghost.hl_group
  local tail = meta.tail or ''
  local display = suggestion
  if tail ~= '' and not suggestion:find('\n', 1, true) and suggestion:sub(-#tail) == tail then
    display = suggestion:sub(1, #suggestion - #tail) -- the closer is on screen already
  end
  local lines = vim.split(display, '\n', { plain = true })
  local function chunk(s)
    return { { (s:gsub('\t', string.rep(' ', vim.bo[bufnr].tabstop))), hl } }
  end
  local opts = { virt_text_pos = 'inline', hl_mode = 'combine' }
  if lines[1] ~= '' then
    opts.virt_text = chunk(lines[1])
  end
  if #lines > 1 then
    opts.virt_lines = vim.tbl_map(chunk, vim.list_slice(lines, 2))
  end
  local id = vim.api.nvim_buf_set_extmark(bufnr, ns, row, col, opts)
  shown = {
    bufnr = bufnr, row = row, col = col, tick = vim.b[bufnr].changedtick, text = suggestion, extmark = id,
    id = meta.id, full = meta.full or suggestion, done = meta.done or 0,
    -- the text after the cursor that accepting all of it replaces (a re-typed closer)
    tail = meta.tail or '',
  }
  if meta.id and not reported[meta.id] then
    reported[meta.id] = true
    send_event(bufnr, 'tandem/didShowCompletion', { id = meta.id })
  end
end

local function show_candidate(index)
  local c = cands.list[index]
  cands.index = index
  M.show(cands.bufnr, cands.row, cands.col, c.text, { id = c.id, full = c.text, done = 0, tail = c.tail })
  pcall(vim.cmd.redrawstatus) -- the statusline shows "n/m"
end

local function still_here(c)
  local row, col = cursor()
  return c and c.bufnr == vim.api.nvim_get_current_buf() and c.row == row and c.col == col
    and c.tick == vim.b[c.bufnr].changedtick
end

-- Ask the server for a suggestion at the cursor (called by the debounce timer or the suggest key).
-- `on_items(list)` (optional) gets all usable candidates; by default the first is shown.
function M.request(bufnr, trigger_kind, on_items)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = client_mod.get(bufnr)
  if not client or disabled[bufnr] or not M.enabled_for(bufnr) then
    return
  end
  cancel_pending()
  local row, col = cursor()
  local tick = vim.b[bufnr].changedtick
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = trigger_kind or 2 } -- 1 Invoked, 2 Automatic
  local ok, id
  ok, id = client_mod.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    if not pending or pending.id ~= id then
      return -- superseded
    end
    pending = nil
    if err or not result or not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    local r, c = cursor()
    if vim.b[bufnr].changedtick ~= tick or r ~= row or c ~= col or bufnr ~= vim.api.nvim_get_current_buf() then
      return -- the user moved on while we waited
    end
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local list = {}
    for _, item in ipairs(result.items or result) do
      local rest, tail = text.remaining(item, line, col, client.offset_encoding)
      if rest then
        table.insert(list, { text = rest, id = M.item_id(item), tail = tail })
      end
    end
    if #list == 0 then
      return
    end
    cands = { bufnr = bufnr, row = row, col = col, tick = tick, list = list, index = 1 }
    if on_items then
      on_items(list)
    else
      show_candidate(1)
    end
  end, bufnr)
  if ok then
    pending = { client = client, id = id }
  end
end

-- Insert the first `part` of the suggestion at its position and keep showing the rest.
local function insert(part)
  local s = shown
  if not s or not vim.api.nvim_buf_is_valid(s.bufnr) then
    return false
  end
  local lines = vim.split(part, '\n', { plain = true })
  vim.api.nvim_buf_set_text(s.bufnr, s.row, s.col, s.row, s.col, lines)
  local row = s.row + #lines - 1
  local col = #lines == 1 and s.col + #lines[1] or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  local rest = s.text:sub(#part + 1)
  local done = s.done + #part
  if rest == '' and s.tail ~= '' then
    -- The item's range ends after the cursor: replace what it covers (never double a closer).
    local now = vim.api.nvim_buf_get_lines(s.bufnr, row, row + 1, false)[1] or ''
    if now:sub(col + 1, col + #s.tail) == s.tail then
      vim.api.nvim_buf_set_text(s.bufnr, row, col, row, col + #s.tail, { '' })
    end
  end
  M.clear()
  cands = nil
  if rest ~= '' then
    M.show(s.bufnr, row, col, rest, { id = s.id, full = s.full, done = done, tail = s.tail })
    send_event(s.bufnr, 'tandem/didPartiallyAcceptCompletion', {
      id = s.id, acceptedLength = vim.fn.strchars(s.full:sub(1, done)),
    })
  else
    send_event(s.bufnr, 'tandem/didAcceptCompletion', { id = s.id })
  end
  return true
end

-- Several candidates: show the next (step 1) or previous (-1) one. The first press asks the
-- server explicitly (triggerKind Invoked), which returns up to `candidates` distinct items.
function M.cycle(step)
  step = step or 1
  if cands and still_here(cands) and #cands.list > 1 and shown then
    show_candidate((cands.index - 1 + step) % #cands.list + 1)
    return true
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local current = shown and shown.text
  M.request(bufnr, 1, function(list)
    local index = 1
    if current and #list > 1 then -- the one on screen is usually the first: move past it
      for i, c in ipairs(list) do
        if c.text == current then
          index = (i - 1 + step) % #list + 1
        end
      end
    end
    show_candidate(index)
  end)
  return true
end

-- "n/m" of the candidate shown, for a statusline; '' with one or none.
function M.candidate_label()
  if cands and shown and #cands.list > 1 and cands.list[cands.index] and cands.list[cands.index].id == shown.id then
    return string.format('%d/%d', cands.index, #cands.list)
  end
  return ''
end

-- The `enabled` / `disabledLanguages` settings, checked before asking (the server checks too).
function M.enabled_for(bufnr)
  local s = config.options.settings or {}
  if s.enabled == false then
    return false
  end
  return not vim.tbl_contains(s.disabledLanguages or {}, vim.bo[bufnr].filetype)
end

function M.accept()
  return shown ~= nil and insert(shown.text)
end

function M.accept_word()
  return shown ~= nil and insert(text.next_word(shown.text))
end

function M.accept_line()
  return shown ~= nil and insert(text.next_line(shown.text))
end

-- Typing, moving or leaving: drop a stale suggestion and (debounced) ask again.
local function on_edit(bufnr)
  if shown then
    local row, col = cursor()
    if shown.bufnr == bufnr and shown.row == row and shown.col == col and shown.tick == vim.b[bufnr].changedtick then
      return -- our own accept_word/line moved the cursor here
    end
    -- Typing what the suggestion says: keep showing the rest, no flicker, no new request.
    if shown.bufnr == bufnr and shown.row == row and col > shown.col then
      local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
      local rest = text.after_typed(shown.text, line:sub(shown.col + 1, col))
      if rest and rest ~= '' then
        local s = shown
        M.show(bufnr, row, col, rest, { id = s.id, full = s.full, done = s.done + (col - s.col), tail = s.tail })
        return
      end
    end
  end
  M.dismiss()
  if not config.options.ghost.auto_trigger or disabled[bufnr] then
    return
  end
  timer = timer or vim.uv.new_timer()
  timer:start(config.options.ghost.debounce_ms, 0, vim.schedule_wrap(function()
    if vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' and vim.api.nvim_get_current_buf() == bufnr then
      M.request(bufnr, 2)
    end
  end))
end

function M.toggle(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  disabled[bufnr] = not disabled[bufnr] or nil
  M.dismiss()
  return not disabled[bufnr]
end

function M.on_attach(_, bufnr)
  if config.use_native() then
    return require('tandem.native').attach(bufnr)
  end
  local group = vim.api.nvim_create_augroup('tandem_ghost_' .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_edit(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, { group = group, buffer = bufnr, callback = M.dismiss })
  require('tandem.keymaps').set(bufnr)
end

return M
