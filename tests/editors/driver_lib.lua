-- What the headless Neovim drivers (drive.lua, drive_nextedit.lua) share: the result record
-- written to $TANDEM_TEST_OUT, a clean quit once the server has exited, and a coroutine main
-- that can sleep and wait while Neovim's loop runs (typed keys and autocmds need that loop).
local M = { out = { steps = {} } }

function M.log(...)
  table.insert(M.out.steps, table.concat(vim.tbl_map(tostring, { ... }), ' '))
end

function M.finish(err)
  M.out.error = err
  local f = assert(io.open(os.getenv('TANDEM_TEST_OUT'), 'w'))
  f:write(vim.json.encode(M.out))
  f:close()
  local ids = vim.tbl_map(function(c) return c.id end, vim.lsp.get_clients({ name = 'tandem' }))
  for _, id in ipairs(ids) do
    vim.lsp.stop_client(id)
  end
  -- Quit only once the server has exited, or Neovim can hang on a live child.
  vim.wait(10000, function()
    for _, id in ipairs(ids) do
      if vim.lsp.get_client_by_id(id) ~= nil then
        return false
      end
    end
    return true
  end, 50)
  vim.cmd('qa!')
end

--- Suspends the running main coroutine for `ms` while Neovim's loop goes on.
function M.sleep(ms)
  local co = assert(coroutine.running(), 'sleep() outside the main coroutine')
  vim.defer_fn(function() assert(coroutine.resume(co)) end, ms)
  coroutine.yield()
end

function M.wait_until(ms, pred)
  local waited = 0
  while not pred() do
    if waited >= ms then
      return false
    end
    M.sleep(20)
    waited = waited + 20
  end
  return true
end

function M.keys(s)
  vim.api.nvim_feedkeys(vim.keycode(s), 'mt', false) -- 'm': mappings apply, like real typing
end

--- Runs `main` as the coroutine, once Neovim's loop has started; an error ends the run with
--- its traceback in the result.
function M.run(main)
  local co = coroutine.create(function()
    local ok, err = xpcall(main, debug.traceback)
    if not ok then
      M.finish(err)
    end
  end)
  vim.schedule(function() assert(coroutine.resume(co)) end)
end

return M
