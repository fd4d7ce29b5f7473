-- Headless Neovim driver for test_neovim.py. Runs in the main loop (`-c luafile`), not `-l`:
-- Insert mode, typed keys, autocmds and mappings only work there.
-- Env: TANDEM_TEST_CMD (JSON list), TANDEM_TEST_MODEL, TANDEM_TEST_DIR, TANDEM_TEST_OUT.
local lib = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'driver_lib.lua'))
local out, log, finish = lib.out, lib.log, lib.finish
local sleep, wait_until, keys = lib.sleep, lib.wait_until, lib.keys
out.notifications = {}

local notify = vim.notify
vim.notify = function(msg, level, o)
  table.insert(out.notifications, { msg = msg, level = level })
  return notify(msg, level, o)
end

-- Candidate documents: the tiny random model answers noise, sometimes nothing; we use the first
-- prefix for which the server suggests printable text. The suggestion is then checked exactly.
local CANDIDATES = {
  'print(', 'z = {', 'x = ', 'def f(', 'import ', 'for i in ', 'return ', 'y = [', 's = "', 'a.b',
  '# ', 'foo', 'while ', 'from os import ', 'items.', 'self.',
}

local function main()
  -- INFO: window/logMessage lines land in lsp.log at their level; stderr lines would be [ERROR]
  vim.lsp.set_log_level('INFO')
  local tandem = require('tandem')
  tandem.setup({
    cmd = vim.json.decode(os.getenv('TANDEM_TEST_CMD')),
    settings = { model = os.getenv('TANDEM_TEST_MODEL'), maxTokens = 12, chatMaxTokens = 32,
                 eventsLogEnabled = true },
    ghost = { debounce_ms = 30 },
  })
  local ghost = require('tandem.ghost')
  local dir = os.getenv('TANDEM_TEST_DIR')
  local chosen, suggestion, client
  for i, prefix in ipairs(CANDIDATES) do
    local path = dir .. '/cand' .. i .. '.py'
    vim.fn.writefile({ prefix }, path)
    vim.cmd.edit(vim.fn.fnameescape(path))
    local buf = vim.api.nvim_get_current_buf()
    if not wait_until(60000, function()
      client = require('tandem.client').get(buf)
      return client ~= nil and client.initialized and client.server_capabilities ~= nil
    end) then
      return finish('client did not attach/initialize; filetype=' .. vim.bo[buf].filetype)
    end
    out.inline_provider = client.server_capabilities.inlineCompletionProvider ~= nil
    out.code_action_provider = client.server_capabilities.codeActionProvider ~= nil
    out.encoding = client.offset_encoding
    vim.api.nvim_win_set_cursor(0, { 1, #prefix })
    local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
    params.position.character = #prefix -- normal mode clamps the cursor onto the last char
    params.context = { triggerKind = 1 }
    local resp = client:request_sync('textDocument/inlineCompletion', params, 60000, buf)
    local items = resp and resp.result and (resp.result.items or resp.result) or {}
    local text = items[1] and items[1].insertText or ''
    log('probe', vim.inspect(prefix), vim.inspect(text), resp and vim.inspect(resp.err) or 'timeout')
    if text ~= '' and not text:find('[%z\1-\8\11-\31\127]') then
      chosen, suggestion = prefix, text
      break
    end
  end
  out.prefix, out.suggestion = chosen, suggestion
  if not chosen then
    return finish('no candidate produced a suggestion')
  end
  out.status_after_probe = vim.deepcopy(require('tandem.status').last)
  out.statusline = tandem.statusline()

  -- Type the last character of the prefix in Insert mode; the debounced request shows ghost text.
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { chosen:sub(1, -2) })
  keys('A' .. chosen:sub(-1))
  out.ghost_shown = wait_until(30000, ghost.visible)
  if not out.ghost_shown then
    return finish('no ghost text after typing')
  end
  local marks = vim.api.nvim_buf_get_extmarks(buf, -1, 0, -1, { details = true })
  out.extmarks = vim.tbl_map(function(m)
    local d = m[4]
    return {
      row = m[2], col = m[3],
      virt_text = d.virt_text and vim.tbl_map(function(c) return c[1] end, d.virt_text) or {},
      virt_lines = d.virt_lines and #d.virt_lines or 0,
    }
  end, marks)
  out.mode = vim.api.nvim_get_mode().mode

  -- Accept one word first when the suggestion has more than one, then the rest with <Tab>.
  local word = require('tandem.text').next_word(suggestion)
  if word ~= suggestion then
    keys('<M-Right>')
    sleep(100)
    out.after_word = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    out.word = word
    out.ghost_after_word = ghost.current() and ghost.current().text or vim.NIL
  end
  keys('<Tab>')
  sleep(100)
  out.after_accept = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  out.ghost_after_accept = ghost.visible()
  -- the plugin may already show a NEW suggestion for the new cursor (TextChangedI re-triggers)
  out.ghost_text_after_accept = ghost.current() and ghost.current().text or vim.NIL
  keys('<Esc>')
  sleep(50)

  -- Multi-line suggestion (deterministic text): accept-line, then the rest; and dismiss.
  require('tandem.config').options.ghost.auto_trigger = false
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'def f():', '    ' })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  keys('A')
  sleep(50)
  ghost.show(buf, 1, 4, 'return 1\nx = 2')
  local m = vim.api.nvim_buf_get_extmarks(buf, -1, 0, -1, { details = true })[1]
  out.multi_mark = { row = m[2], col = m[3], text = m[4].virt_text[1][1], virt_lines = #m[4].virt_lines }
  keys('<M-Down>')
  sleep(50)
  out.multi_after_line = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  out.multi_rest = ghost.current() and ghost.current().text or vim.NIL
  keys('<Tab>')
  sleep(50)
  out.multi_after_accept = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  out.multi_cursor = vim.api.nvim_win_get_cursor(0)
  ghost.show(buf, 2, 5, ' + 1')
  keys('<C-]>')
  sleep(50)
  out.dismissed = not ghost.visible() and #vim.api.nvim_buf_get_extmarks(buf, -1, 0, -1, {}) == 0
  out.after_dismiss = vim.api.nvim_buf_get_lines(buf, 0, -1, false)

  -- Debounce: a burst of keys sends one request; a newer request cancels the pending one.
  local client_mod = require('tandem.client')
  local sent, cancelled = 0, 0
  local request, cancel = client_mod.request, client_mod.cancel
  client_mod.request = function(c, method, ...)
    if method == 'textDocument/inlineCompletion' then
      sent = sent + 1
    end
    return request(c, method, ...)
  end
  client_mod.cancel = function(...)
    cancelled = cancelled + 1
    return cancel(...)
  end
  require('tandem.config').options.ghost.auto_trigger = true
  require('tandem.config').options.ghost.debounce_ms = 500
  for _, k in ipairs({ 'a', 'b', 'c' }) do
    keys(k)
    sleep(20)
  end
  sleep(900)
  out.burst_requests = sent
  require('tandem.config').options.ghost.auto_trigger = false
  ghost.dismiss()
  cancelled = 0
  ghost.request(buf, 1)
  ghost.request(buf, 1)
  out.superseded_cancels = cancelled
  wait_until(30000, function() return require('tandem.ghost').visible() or sent >= 3 end)
  sleep(200)
  client_mod.request, client_mod.cancel = request, cancel
  keys('<Esc>')
  sleep(50)

  -- Events: the accepted suggestion was reported (shown + accepted), visible in tandem.status.
  local st = client:request_sync('workspace/executeCommand', { command = 'tandem.status', arguments = {} }, 10000, buf)
  out.session = st and st.result and st.result.session or vim.NIL
  out.status_health = st and st.result and st.result.health or vim.NIL

  -- Typing the character the suggestion starts with keeps the rest on screen, with no request.
  local cfg = require('tandem.config').options
  cfg.ghost.auto_trigger, cfg.ghost.debounce_ms = true, 30
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'zz' })
  keys('A')
  sleep(50)
  ghost.dismiss() -- stops the debounce timer that entering Insert mode started
  ghost.show(buf, 0, 2, 'abc def')
  sent = 0
  client_mod.request = function(c, method, ...)
    if method == 'textDocument/inlineCompletion' then
      sent = sent + 1
    end
    return request(c, method, ...)
  end
  keys('a')
  sleep(5)
  out.typed_ghost_now = ghost.current() and ghost.current().text or vim.NIL
  sleep(300)
  out.typed_ghost_later = ghost.current() and ghost.current().text or vim.NIL
  out.typed_requests = sent
  client_mod.request = request
  cfg.ghost.auto_trigger = false
  ghost.dismiss()
  keys('<Esc>')
  sleep(50)

  -- Cycling: the next key asks explicitly for several candidates and walks through them.
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { chosen })
  keys('A')
  sleep(50)
  tandem.cycle(1)
  wait_until(60000, ghost.visible)
  local c = ghost.candidates()
  out.cycle_texts = c and vim.tbl_map(function(x) return x.text end, c.list) or {}
  out.cycle_first = ghost.current() and ghost.current().text or vim.NIL
  out.cycle_label = tandem.statusline()
  tandem.cycle(1)
  sleep(50)
  out.cycle_second = ghost.current() and ghost.current().text or vim.NIL
  tandem.cycle(-1)
  sleep(50)
  out.cycle_back = ghost.current() and ghost.current().text or vim.NIL
  ghost.dismiss()
  keys('<Esc>')
  sleep(50)

  -- Toggles at run time (no restart) and snooze.
  local function ask()
    local p = vim.lsp.util.make_position_params(0, client.offset_encoding)
    p.position = { line = 0, character = #chosen }
    p.context = { triggerKind = 1 }
    local r = client:request_sync('textDocument/inlineCompletion', p, 60000, buf)
    local items = r and r.result and (r.result.items or r.result) or {}
    return #items
  end
  out.items_enabled = ask()
  tandem.disable()
  sleep(300)
  out.items_disabled = ask()
  out.state_disabled = require('tandem.status').last.state
  tandem.enable()
  tandem.disable('python')
  sleep(300)
  out.items_lang_disabled = ask()
  tandem.enable('python')
  sleep(300)
  tandem.snooze(30)
  wait_until(5000, function() return require('tandem.status').last.state == 'snoozed' end)
  out.state_snoozed = require('tandem.status').last.state
  out.items_snoozed = ask()
  tandem.snooze(0)
  sleep(300)
  out.items_unsnoozed = ask()

  -- CodeChat through code actions (once the server offers them).
  if out.code_action_provider then
    local first = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
    local range = { start = { line = 0, character = 0 }, ['end'] = { line = 0, character = #first } }
    local resp = client:request_sync('textDocument/codeAction', {
      textDocument = { uri = vim.uri_from_bufnr(buf) },
      range = range,
      context = { diagnostics = {}, triggerKind = 1 },
    }, 30000, buf)
    local actions = resp and resp.result or {}
    out.code_actions = vim.tbl_map(function(a) return a.title end, actions)
    local explain
    for _, a in ipairs(actions) do
      if a.title == 'Tandem: Explain' then
        explain = a
      end
    end
    if explain then
      if not explain.command and not explain.edit then
        local r = client:request_sync('codeAction/resolve', explain, 30000, buf)
        explain = r and r.result or explain
      end
      local done = false
      out.progress_texts, out.progress_float = {}, {}
      local codechat = require('tandem.codechat')
      local on_progress = codechat.on_progress
      codechat.on_progress = function(params)
        on_progress(params)
        vim.schedule(function()
          table.insert(out.progress_texts, params.text or '')
          local f = codechat.float()
          if f and vim.api.nvim_buf_is_valid(f.buf) then
            table.insert(out.progress_float, table.concat(vim.api.nvim_buf_get_lines(f.buf, 0, -1, false), '\n'))
          end
        end)
      end
      local function normal_windows()
        return #vim.tbl_filter(function(w) return vim.api.nvim_win_get_config(w).relative == '' end, vim.api.nvim_list_wins())
      end
      out.windows_before = normal_windows()
      out.buffers_before = #vim.api.nvim_list_bufs()
      local notes_before = #out.notifications
      local command = explain.command
      if type(command) == 'string' then
        command = explain -- a bare Command
      end
      require('tandem.codechat').execute(client.id, command.command, (command.arguments or {})[1] or {}, buf, function(err, result)
        out.explain_error = err and err.message or vim.NIL
        out.explain_result = result or vim.NIL
        done = true
      end)
      wait_until(120000, function() return done end)
      sleep(1500) -- late showDocument / showMessage from the server would land here
      local f = require('tandem.codechat').float()
      if f and vim.api.nvim_buf_is_valid(f.buf) then
        out.float_lines = vim.api.nvim_buf_get_lines(f.buf, 0, -1, false)
        out.float_focused = vim.api.nvim_get_current_win() == f.win
        vim.api.nvim_feedkeys('q', 'mt', false)
        sleep(100)
        out.float_closed_by_q = not vim.api.nvim_win_is_valid(f.win)
        out.recording_after_q = vim.fn.reg_recording()
      end
      out.windows_after = normal_windows()
      out.explain_notifications = vim.list_slice(out.notifications, notes_before + 1)
      out.messages = vim.fn.execute('messages')
      codechat.on_progress = on_progress
    end
  end
  vim.cmd('checkhealth tandem')
  out.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish(nil)
end

lib.run(main)
