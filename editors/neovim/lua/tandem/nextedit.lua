-- Next-edit suggestions: ask the server (tandem/nextEdit) for the edit the user will make next,
-- show it in place (the text it replaces marked, the line(s) it gives as virtual lines below),
-- jump to it with one key and accept it with another. The edit may sit lines away from the
-- cursor; it is dropped as soon as the buffer changes under it.
local client_mod = require('tandem.client')
local config = require('tandem.config')

local M = {}
local ns = vim.api.nvim_create_namespace('tandem_nextedit')
local timer = nil
-- The suggestion shown: { bufnr, tick, edits = {LSP items}, enc, client_id }.
local current = nil
-- Clients whose server answered that next edits are off (no auto requests until settings change).
local off = {}

local function opts()
  return config.options.next_edit or {}
end

function M.current()
  return current
end

function M.visible()
  return current ~= nil
end

function M.clear()
  if current then
    pcall(vim.api.nvim_buf_clear_namespace, current.bufnr, ns, 0, -1)
    current = nil
  end
end

local function version(bufnr)
  local v = vim.lsp.util.buf_versions and vim.lsp.util.buf_versions[bufnr]
  return v or vim.api.nvim_buf_get_changedtick(bufnr)
end

-- Byte column of an LSP position in `bufnr` (the server speaks utf-8 with Neovim; others convert).
local function byte_col(bufnr, pos, enc)
  if enc == 'utf-8' then
    return pos.character
  end
  local ok, col = pcall(vim.lsp.util._get_line_byte_from_position, bufnr, pos, enc)
  return ok and col or pos.character
end

-- Pure: the lines `edit` gives for the buffer lines it touches (first row .. last row).
function M.result_lines(lines, srow, scol, erow, ecol, new_text)
  local before = lines[srow + 1]:sub(1, scol)
  local after = lines[erow + 1]:sub(ecol + 1)
  return vim.split(before .. new_text .. after, '\n', { plain = true })
end

-- Draw the edits of a tandem/nextEdit answer.
function M.show(bufnr, edits, enc, client_id)
  M.clear()
  if not edits or #edits == 0 then
    return false
  end
  local o = opts()
  local marks = {}
  for _, e in ipairs(edits) do
    local srow, erow = e.range.start.line, e.range['end'].line
    local scol, ecol = byte_col(bufnr, e.range.start, enc), byte_col(bufnr, e.range['end'], enc)
    local lines = vim.api.nvim_buf_get_lines(bufnr, srow, erow + 1, false)
    if #lines < erow - srow + 1 then
      return false -- the buffer changed under the answer
    end
    if erow > srow or ecol > scol then
      vim.api.nvim_buf_set_extmark(bufnr, ns, srow, scol, {
        end_row = erow, end_col = ecol, hl_group = o.delete_hl or 'DiffDelete', priority = 200,
      })
    end
    local new_lines = M.result_lines(lines, 0, scol, erow - srow, ecol, e.text)
    local virt = {}
    for _, l in ipairs(new_lines) do
      table.insert(virt, { { l, o.add_hl or 'DiffAdd' } })
    end
    vim.api.nvim_buf_set_extmark(bufnr, ns, erow, 0, { virt_lines = virt, priority = 200 })
    table.insert(marks, { row = srow, col = scol })
  end
  current = { bufnr = bufnr, tick = vim.api.nvim_buf_get_changedtick(bufnr), edits = edits,
              enc = enc, client_id = client_id, marks = marks }
  return true
end

-- Ask for the next edit at the cursor. `cb(shown)` runs once the answer is drawn (or not).
function M.request(bufnr, cb)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = client_mod.get(bufnr)
  if not client then
    return cb and cb(false)
  end
  local enc = client.offset_encoding or 'utf-16'
  local params = vim.lsp.util.make_position_params(0, enc)
  params.textDocument.version = version(bufnr)
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  client_mod.request(client, 'tandem/nextEdit', params, function(err, result)
    local shown = false
    if err then
      vim.lsp.log.info('tandem/nextEdit failed:', err.message or vim.inspect(err))
    elseif type(result) == 'table' then
      off[client.id] = result.reason == 'off' or nil
      if vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_buf_get_changedtick(bufnr) == tick then
        shown = M.show(bufnr, result.edits, enc, client.id)
      end
    end
    if cb then
      cb(shown)
    end
  end, bufnr)
end

local function stale()
  return not current or not vim.api.nvim_buf_is_valid(current.bufnr)
    or vim.api.nvim_buf_get_changedtick(current.bufnr) ~= current.tick
end

-- Move the cursor to the suggested edit. Returns false when there is none.
function M.jump()
  if stale() then
    M.clear()
    return false
  end
  local m = current.marks[1]
  local win = vim.fn.bufwinid(current.bufnr)
  if win == -1 then
    return false
  end
  vim.api.nvim_win_set_cursor(win, { m.row + 1, m.col })
  return true
end

-- Apply the suggested edits (all of them, as one change) and report the acceptance.
function M.accept()
  if stale() then
    M.clear()
    return false
  end
  local c = current
  M.clear()
  local text_edits = {}
  for _, e in ipairs(c.edits) do
    table.insert(text_edits, { range = e.range, newText = e.text })
  end
  vim.lsp.util.apply_text_edits(text_edits, c.bufnr, c.enc)
  local client = vim.lsp.get_client_by_id(c.client_id)
  if client then
    for _, e in ipairs(c.edits) do
      if type(e.command) == 'table' then
        client_mod.request(client, 'workspace/executeCommand',
          { command = e.command.command, arguments = e.command.arguments }, function() end, c.bufnr)
      end
    end
  end
  return true
end

function M.dismiss()
  if timer then
    timer:stop()
  end
  M.clear()
end

-- Automatic requests: after a change in Normal mode and when leaving Insert mode.
local function schedule(bufnr)
  local client = client_mod.get(bufnr)
  if not client or off[client.id] then
    return
  end
  timer = timer or vim.uv.new_timer()
  timer:stop()
  timer:start(opts().debounce_ms or 300, 0, vim.schedule_wrap(function()
    if vim.api.nvim_get_current_buf() == bufnr then
      M.request(bufnr)
    end
  end))
end

-- Keys (Normal and Insert mode) act only while a suggestion is shown; otherwise they do what
-- they did before.
local function map(bufnr, lhs, fn, desc)
  for _, mode in ipairs({ 'n', 'i' }) do
    vim.keymap.set(mode, lhs, function()
      if current and not stale() then
        return '<Cmd>lua require("tandem.nextedit").' .. fn .. '()<CR>'
      end
      return lhs
    end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = desc })
  end
end

function M.on_attach(_client, bufnr)
  local o = opts()
  if o.enabled == false then
    return
  end
  local keys = o.keymaps or {}
  if keys.jump then
    map(bufnr, keys.jump, 'jump', 'Tandem: jump to the next edit')
  end
  if keys.accept then
    map(bufnr, keys.accept, 'accept', 'Tandem: accept the next edit')
  end
  if keys.dismiss then
    map(bufnr, keys.dismiss, 'dismiss', 'Tandem: dismiss the next edit')
  end
  local group = vim.api.nvim_create_augroup('tandem_nextedit_' .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      if current and current.bufnr == bufnr and stale() then
        M.clear()
      end
    end,
  })
  if o.auto_trigger ~= false then
    vim.api.nvim_create_autocmd({ 'InsertLeave', 'TextChanged' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        schedule(bufnr)
      end,
    })
  end
end

-- Settings changed: ask again even where the server said next edits were off.
function M.reset()
  off = {}
end

return M
