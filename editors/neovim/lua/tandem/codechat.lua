-- CodeChat: :Tandem refactor|tests|docs|explain|ask, and the code actions' commands.
-- Every command takes ONE argument object {uri, range?, position?, instruction?, version?} and
-- answers {ok, message, markdown?, applied?, reason?}; edits arrive separately via applyEdit.
local client_mod = require('tandem.client')

local M = { kinds = { 'refactor', 'tests', 'docs', 'explain', 'ask' } }

-- The floating window showing the current answer: { buf, win }.
local float = nil
-- The CodeChat run in flight (at most one is shown): { command, streamed = bool, quiet_until }.
local active = nil

-- Whether a server window/showMessage is a duplicate of what the float/our notify shows:
-- Info messages while a CodeChat run is in flight or just finished (the server may also
-- announce the result; older servers did, with a doubled "Tandem: Tandem:" prefix).
function M.is_duplicate_message(params)
  if not active or type(params) ~= 'table' then
    return false
  end
  if params.type ~= nil and params.type < 3 then -- 1 Error, 2 Warning: always shown
    return false
  end
  return active.quiet_until == nil or vim.uv.now() <= active.quiet_until
end

-- Open (or reuse) the answer window and put `lines` in it. The window takes the focus, so its
-- buffer-local `q` closes it.
local function open_float(lines)
  if not (float and vim.api.nvim_win_is_valid(float.win)) then
    local buf = vim.api.nvim_create_buf(false, true)
    vim.bo[buf].filetype = 'markdown'
    vim.bo[buf].bufhidden = 'wipe'
    local width = math.min(90, math.max(40, vim.o.columns - 10))
    local height = math.min(30, math.max(5, vim.o.lines - 8))
    local win = vim.api.nvim_open_win(buf, true, {
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
    vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'close Tandem answer' })
    float = { buf = buf, win = win }
  end
  vim.api.nvim_buf_set_lines(float.buf, 0, -1, false, lines)
  return float
end

function M.float()
  return float
end

-- Pure: the float's lines for a tandem/chatProgress `text`. Each text is the WHOLE answer so
-- far (protocol.py: replace, don't append), so the lines are just that text's lines.
function M.progress_lines(text)
  return vim.split(text, '\n', { plain = true })
end

-- Streamed text (tandem/chatProgress) of an explain/ask run: replaces the window's content.
function M.on_progress(params)
  if type(params) ~= 'table' or not active or not active.streams then
    return
  end
  vim.schedule(function()
    local closed_by_user = active.streamed and not (float and vim.api.nvim_win_is_valid(float.win))
    if type(params.text) == 'string' and params.text ~= '' and not closed_by_user then
      active.streamed = true
      open_float(M.progress_lines(params.text))
    end
    if params.done then
      active.quiet_until = vim.uv.now() + 2000
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
  local streamed = active and active.streamed
  if result.markdown and result.markdown ~= '' then
    open_float(vim.split(result.markdown, '\n', { plain = true }))
    if result.ok then
      return -- the answer is in the window: shown once, not also as a message
    end
  elseif streamed and result.ok then
    return -- the streamed answer stays in the window (servers that answer at once, then stream)
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
  local streams = command == 'tandem.explain' or command == 'tandem.ask'
  local run = { command = command, streams = streams }
  active = run
  if streams then
    open_float({ '_thinking…_', '' })
  end
  client_mod.request(client, 'workspace/executeCommand', { command = command, arguments = { args } }, function(err, result)
    if active == run and not run.streamed then
      run.quiet_until = vim.uv.now() + 2000
    elseif active == run then
      run.quiet_until = run.quiet_until or (vim.uv.now() + 120000) -- still streaming
    end
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
