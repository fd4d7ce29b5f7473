-- CodeChat: :Tandem refactor|tests|docs|explain|ask, and the code actions' commands.
-- Every command takes ONE argument object {uri, range?, position?, instruction?, version?} and
-- answers AT ONCE: {ok = true, pending = true, token, message} when the run started, or
-- {ok = false, reason, message} when it cannot start. The text then streams as
-- tandem/chatProgress (each text is the whole answer so far) and the run ends with ONE
-- tandem/chatResult {token, action, uri, ok, message, markdown?, applied?, reason?}, which we
-- show once: explain/ask answers in the float, edit outcomes as a notification. Edits arrive
-- separately via workspace/applyEdit. (We declare experimental.tandem.chatResult in client.lua,
-- so the server sends us no window/showMessage for the outcome.)
local client_mod = require('tandem.client')

local M = { kinds = { 'refactor', 'tests', 'docs', 'explain', 'ask' } }

-- The floating window showing the current answer: { buf, win }.
local float = nil
-- The run whose text the float shows (the last one started):
-- { command, streams, token?, streamed = bool, on_done? }.
local active = nil
-- Started runs waiting for their tandem/chatResult, by token (same tables as `active`).
local runs = {}
-- Outcomes that arrived before the command's own answer (kept until it comes), by token.
local early = {}

local close_float

-- Open (or reuse) the answer window and put `lines` in it. The window takes the focus, so its
-- buffer-local `q` closes it (and stops a run still streaming into it). `follow`: keep the
-- last line in view (a streaming answer longer than the window).
local function open_float(lines, follow)
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
    vim.keymap.set('n', 'q', function()
      close_float()
    end, { buffer = buf, nowait = true, desc = 'close the Tandem answer (stops it if still streaming)' })
    float = { buf = buf, win = win }
  end
  vim.api.nvim_buf_set_lines(float.buf, 0, -1, false, lines)
  if follow then
    pcall(vim.api.nvim_win_set_cursor, float.win, { #lines, 0 })
  end
  return float
end

-- Ask the server to stop a run (its progress token is the command's token).
local function cancel_run(run)
  local client = run.client_id and vim.lsp.get_client_by_id(run.client_id)
  if client and run.token then
    client_mod.notify(client, 'window/workDoneProgress/cancel', { token = run.token })
  end
end

-- `q` in the answer window: close it. A run still streaming into it is cancelled and never
-- opens the window again (nor takes the focus): the user said they are done with it.
close_float = function()
  if float and vim.api.nvim_win_is_valid(float.win) then
    vim.api.nvim_win_close(float.win, true)
  end
  float = nil
  local run = active
  if run and run.streams and not run.finished then
    run.dismissed = true
    cancel_run(run) -- no token yet: sent when the command's answer names it
  end
end

function M.close()
  close_float()
end

function M.float()
  return float
end

-- Pure: the float's lines for a tandem/chatProgress `text`. Each text is the WHOLE answer so
-- far (protocol.py: replace, don't append), so the lines are just that text's lines.
function M.progress_lines(text)
  return vim.split(text, '\n', { plain = true })
end

-- Whether a tandem/chatProgress or tandem/chatResult with this token belongs to `run`. The
-- command's answer names the token; until it is handled, the run in flight takes its messages.
local function owns(run, token)
  return run ~= nil and (run.token == nil or run.token == token)
end

-- Streamed text (tandem/chatProgress) of an explain/ask run: replaces the window's content.
function M.on_progress(params)
  if type(params) ~= 'table' then
    return
  end
  vim.schedule(function()
    local run = active
    if not (owns(run, params.token) and run.streams) or run.dismissed then
      return
    end
    local closed_by_user = not (float and vim.api.nvim_win_is_valid(float.win))
    if type(params.text) == 'string' and params.text ~= '' and not closed_by_user then
      run.streamed = true
      open_float(M.progress_lines(params.text), true)
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

-- Show a run's outcome once: an answer (explain/ask, or a file's content to paste) in the
-- float, everything else as one notification.
local function show_result(command, result)
  if type(result) ~= 'table' then
    vim.notify('Tandem: ' .. command .. ' returned nothing', vim.log.levels.WARN)
    return
  end
  local float_open = float and vim.api.nvim_win_is_valid(float.win)
  if type(result.markdown) == 'string' and result.markdown ~= '' then
    open_float(vim.split(result.markdown, '\n', { plain = true }))
    if result.ok then
      return -- the answer is in the window: shown once, not also as a message
    end
  elseif float_open then
    vim.api.nvim_win_close(float.win, true) -- only the "thinking…" placeholder or a partial text
  end
  local level = result.ok and vim.log.levels.INFO or vim.log.levels.WARN
  local msg = result.message or (result.ok and 'done' or 'failed')
  if result.reason then
    msg = msg .. ' (' .. tostring(result.reason) .. ')'
  end
  vim.notify('Tandem ' .. command:gsub('^tandem%.', '') .. ': ' .. msg, level)
end

-- Finish `run` with its final `result`: show it, tell the caller. A run that a newer one
-- replaced (the user started another while it was still generating) must not take the float
-- from the newer run: its outcome becomes one short notification instead.
local function finish(run, err, result)
  run.finished = true
  local superseded = active ~= nil and active ~= run
  if active == run then
    active = nil
  end
  if err then
    vim.notify('Tandem ' .. run.command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
  elseif run.dismissed then
    -- closed with `q` while streaming: a one-line note, never the window (or the focus) again
    vim.notify('Tandem ' .. run.command:gsub('^tandem%.', '') .. ': stopped (window closed)', vim.log.levels.INFO)
  elseif superseded then
    local ok = type(result) == 'table' and result.ok
    local what = type(result) == 'table' and type(result.markdown) == 'string' and result.markdown ~= ''
        and 'its answer was not shown: a newer request has the window'
      or ((type(result) == 'table' and result.message) or (ok and 'done' or 'failed'))
    vim.notify('Tandem ' .. run.command:gsub('^tandem%.', '') .. ' (earlier request): ' .. what,
      ok and vim.log.levels.INFO or vim.log.levels.WARN)
  else
    show_result(run.command, result)
  end
  if run.on_done then
    run.on_done(err, result)
  end
end

-- The outcome of a run (tandem/chatResult), sent once per started run.
function M.on_result(result)
  if type(result) ~= 'table' then
    return
  end
  vim.schedule(function()
    local run = runs[result.token]
    if run then
      runs[result.token] = nil
      finish(run, nil, result)
    elseif owns(active, result.token) and active.token == nil then
      early[result.token] = result -- the command's answer is still on its way
    else -- a run we did not start (another plugin's command): still shown once
      show_result('tandem.' .. tostring(result.action), result)
    end
  end)
end

-- Send one tandem.* command and show its outcome; `on_done(err, result)` gets the FINAL result
-- (the tandem/chatResult of a started run), for callers and tests.
function M.execute(client_id, command, args, bufnr, on_done)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client then
    return vim.notify('Tandem: the server is not running', vim.log.levels.ERROR)
  end
  local streams = command == 'tandem.explain' or command == 'tandem.ask'
  local run = { command = command, streams = streams, on_done = on_done, client_id = client_id }
  active = run
  if streams then
    open_float({ '_thinking…_', '' })
  end
  client_mod.request(client, 'workspace/executeCommand', { command = command, arguments = { args } }, function(err, result)
    if not err and type(result) == 'table' and result.pending and result.token then
      run.token = result.token -- "… started": not an outcome; the chatResult follows
      if run.dismissed then
        cancel_run(run) -- closed before the server named the run
      end
      local outcome = early[result.token]
      early[result.token] = nil
      if outcome then
        finish(run, nil, outcome)
      else
        runs[result.token] = run
      end
      return
    end
    finish(run, err, result) -- could not start (stale, bad request), or an error
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
