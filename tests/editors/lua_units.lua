-- Unit checks of the plugin's pure helpers; run with `nvim --headless --clean -l` (errors exit 1).
local text = require('tandem.text')
local status = require('tandem.status')
local codechat = require('tandem.codechat')

local function eq(a, b)
  assert(vim.deep_equal(a, b), 'expected ' .. vim.inspect(b) .. ', got ' .. vim.inspect(a))
end

eq(text.next_word('foo(bar)'), 'foo')
eq(text.next_word('  bar = 1'), '  bar')
eq(text.next_word('(x)'), '(')
eq(text.next_word('\n    return'), '\n    return')
eq(text.next_line('a = 1\nb = 2'), 'a = 1')
eq(text.next_line('\nb = 2\nc'), '\nb = 2')
eq(text.next_line('tail'), 'tail')

-- Items replacing what's typed before the cursor continue it; others are dropped.
local item = { insertText = 'os.path.join()', range = { start = { line = 0, character = 4 }, ['end'] = { line = 0, character = 7 } } }
eq(text.remaining(item, 'x = os.', 7, 'utf-16'), 'path.join()')
eq(text.remaining(item, 'x = ab.', 7, 'utf-16'), nil)
eq(text.remaining({ insertText = '' }, 'x', 1, 'utf-8'), nil)
-- A range that ends after the cursor covers a re-typed closer: accepting replaces it (issue:
-- `dict(a=1, b=True))`). The second result is the text after the cursor the item replaces.
local closer = { insertText = 'True)', range = { start = { line = 0, character = 21 }, ['end'] = { line = 0, character = 22 } } }
eq({ text.remaining(closer, 'result = dict(a=1, b=)', 21, 'utf-8') }, { 'True)', ')' })
eq({ text.remaining({ insertText = 'x' }, 'ab', 1, 'utf-8') }, { 'x', '' })
eq(text.remaining({ insertText = { kind = 'snippet', value = 'v' } }, 'x', 1, 'utf-8'), 'v')
-- 'é' is 2 bytes, 1 UTF-16 unit: character 2 is byte 3.
eq(text.byte_col('éa', 2, 'utf-16'), 3)
eq(text.byte_col('éa', 3, 'utf-8'), 3)

eq(status.format(nil), 'Tandem: off')
eq(status.format({ state = 'loading', message = 'loading model' }), 'Tandem: loading')
eq(status.format({ state = 'ready' }), 'Tandem')
eq(status.format({
  state = 'ready',
  request = { kind = 'inline', latencyMs = 41.6, cached = false,
    stats = { tokens_per_second = 120.4, acceptance_rate = 0.875, drafted_tokens = 8 } },
}), 'Tandem 42ms 120tok/s spec 88%')
eq(status.format({ state = 'ready', request = { latencyMs = 3, cached = true, stats = {} } }), 'Tandem 3ms cached')

eq(codechat.arguments('file:///a.py', nil, { line = 1, character = 2 }, '', 7),
  { uri = 'file:///a.py', position = { line = 1, character = 2 }, version = 7 })
eq(codechat.arguments('file:///a.py', { start = 1 }, nil, 'make it faster', nil),
  { uri = 'file:///a.py', range = { start = 1 }, instruction = 'make it faster' })


-- A late outcome of an earlier run never replaces a newer run's float (stubbed client: the
-- commands' answers and the chatResults are delivered by hand, in the order that broke it).
do
  local client_mod = require('tandem.client')
  local pending = {}
  local real_get, real_request = vim.lsp.get_client_by_id, client_mod.request
  vim.lsp.get_client_by_id = function() return { id = 1 } end
  client_mod.request = function(_, _, params, handler) table.insert(pending, { params = params, handler = handler }) end
  local notes = {}
  local real_notify = vim.notify
  vim.notify = function(msg) table.insert(notes, msg) end
  local function settle() vim.wait(50, function() return false end) end

  codechat.execute(1, 'tandem.explain', { uri = 'file:///a.py' })
  pending[1].handler(nil, { ok = true, pending = true, token = 'A' })
  codechat.execute(1, 'tandem.explain', { uri = 'file:///a.py' }) -- the user asks again
  pending[2].handler(nil, { ok = true, pending = true, token = 'B' })
  codechat.on_progress({ token = 'B', text = 'newer answer so far' })
  settle()
  codechat.on_result({ token = 'A', action = 'explain', ok = true, markdown = 'OLD ANSWER' })
  settle()
  local f = codechat.float()
  eq(vim.api.nvim_buf_get_lines(f.buf, 0, -1, false), { 'newer answer so far' })
  assert(notes[#notes]:find('earlier request', 1, true), vim.inspect(notes))
  codechat.on_result({ token = 'B', action = 'explain', ok = true, markdown = 'NEW ANSWER' })
  settle()
  eq(vim.api.nvim_buf_get_lines(codechat.float().buf, 0, -1, false), { 'NEW ANSWER' })

  vim.notify, vim.lsp.get_client_by_id, client_mod.request = real_notify, real_get, real_request
end

print('lua units ok')
