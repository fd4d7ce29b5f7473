-- CodeChat: :Tandem refactor|tests|docs|explain|ask, and the code actions' commands.
-- Every command takes ONE argument object {uri, range?, position?, instruction?, version?} and
-- answers {ok, message, markdown?, applied?, reason?}; edits arrive separately via applyEdit.
local client_mod = require('tandem.client')

local M = { kinds = { 'refactor', 'tests', 'docs', 'explain', 'ask' } }

-- The floating window showing the current answer: { buf, win }.
local float = nil

local function open_float(lines)
  if not (float and vim.api.nvim_win_is_valid(float.win)) then
    local buf = vim.api.nvim_create_buf(false, true)
    vim.bo[buf].filetype = 'markdown'
    vim.bo[buf].bufhidden = 'wipe'
    local width = math.min(90, math.max(40, vim.o.columns - 10))
    local height = math.min(30, math.max(5, vim.o.lines - 8))
    local win = vim.api.nvim_open_win(buf, false, {
      relative = 'editor',
      row = math.floor((vim.o.lines - height) / 2),
      col = math.floor((vim.o.columns - width) / 2),
      width = width,
      height = height,
      style = 'minimal',
      border = 'rounded',
      title = ' Tandem ',
    })
    vim.wo[win].wrap = true
    vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true })
    float = { buf = buf, win = win }
  end
  vim.api.nvim_buf_set_lines(float.buf, 0, -1, false, lines)
  return float
end

function M.float()
  return float
end

-- Streamed text (tandem/chatProgress) into the open answer window.
function M.on_progress(params)
  if type(params) ~= 'table' or not (float and vim.api.nvim_win_is_valid(float.win)) then
    return
  end
  vim.schedule(function()
    if params.text and params.text ~= '' and vim.api.nvim_buf_is_valid(float.buf) then
      local last = vim.api.nvim_buf_get_lines(float.buf, -2, -1, false)[1] or ''
      local added = vim.split(last .. params.text, '\n', { plain = true })
      vim.api.nvim_buf_set_lines(float.buf, -2, -1, false, added)
    end
  end)
end

-- Pure: the command's argument object for a buffer, an optional LSP range and cursor position.
function M.arguments(uri, range, position, instruction, version)
  local args = { uri = uri }
  if range then
    args.range = range
  end
  if position then
    args.position = position
  end
  if instruction and instruction ~= '' then
    args.instruction = instruction
  end
  if version then
    args.version = version
  end
  return args
end

local function show_result(command, result)
  if type(result) ~= 'table' then
    vim.notify('Tandem: ' .. command .. ' returned nothing', vim.log.levels.WARN)
    return
  end
  if result.markdown and result.markdown ~= '' then
    open_float(vim.split(result.markdown, '\n', { plain = true }))
  elseif float and vim.api.nvim_win_is_valid(float.win) then
    vim.api.nvim_win_close(float.win, true)
  end
  local level = result.ok and vim.log.levels.INFO or vim.log.levels.WARN
  local msg = result.message or (result.ok and 'done' or 'failed')
  if result.reason then
    msg = msg .. ' (' .. tostring(result.reason) .. ')'
  end
  vim.notify('Tandem ' .. command:gsub('^tandem%.', '') .. ': ' .. msg, level)
end

-- Send one tandem.* command and show its answer; `on_done(err, result)` is for callers/tests.
function M.execute(client_id, command, args, bufnr, on_done)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client then
    return vim.notify('Tandem: the server is not running', vim.log.levels.ERROR)
  end
  if command == 'tandem.explain' or command == 'tandem.ask' then
    open_float({ '_thinking…_', '' })
  end
  client_mod.request(client, 'workspace/executeCommand', { command = command, arguments = { args } }, function(err, result)
    if err then
      vim.notify('Tandem ' .. command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    else
      show_result(command, result)
    end
    if on_done then
      on_done(err, result)
    end
  end, bufnr)
end

-- :Tandem {kind} [instruction] with an optional range (visual selection or :'<,'>).
function M.run(kind, opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_mod.get(bufnr)
  if not client then
    return vim.notify('Tandem: no server attached to this buffer', vim.log.levels.ERROR)
  end
  local enc = client.offset_encoding
  local range
  if opts.range and opts.range > 0 then
    local last = vim.api.nvim_buf_get_lines(bufnr, opts.line2 - 1, opts.line2, false)[1] or ''
    range = vim.lsp.util.make_given_range_params({ opts.line1, 0 }, { opts.line2, #last }, bufnr, enc).range
  end
  local position = vim.lsp.util.make_position_params(0, enc).position
  local instruction = opts.args
  if kind == 'ask' and (instruction == nil or instruction == '') then
    instruction = vim.fn.input('Ask Tandem: ')
    if instruction == '' then
      return
    end
  end
  local version = vim.lsp.util.buf_versions and vim.lsp.util.buf_versions[bufnr] or nil
  local args = M.arguments(vim.uri_from_bufnr(bufnr), range, position, instruction, version)
  M.execute(client.id, 'tandem.' .. kind, args, bufnr)
end

return M
