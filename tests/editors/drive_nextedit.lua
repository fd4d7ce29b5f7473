-- Headless Neovim driver for test_neovim_nextedit.py: the user renames a parameter in one line;
-- the next-edit suggestion for the matching change a few lines below shows in place, one key
-- jumps to it and one key accepts it. The server's "model" is the rename stand-in
-- (testing/nextedit_oracle.py). Env: TANDEM_TEST_CMD (JSON list), TANDEM_TEST_DIR, TANDEM_TEST_OUT.
local lib = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'driver_lib.lua'))
local out, log, finish = lib.out, lib.log, lib.finish
local sleep, wait_until, keys = lib.sleep, lib.wait_until, lib.keys

local SOURCE = {
  'def area(w, h):',
  '    """Area of a rectangle."""',
  '    check(w)',
  '    check(h)',
  '    return w * h',
}

local function main()
  require('tandem').setup({
    cmd = vim.json.decode(os.getenv('TANDEM_TEST_CMD')),
    settings = { nextEdit = true },
    ghost = { auto_trigger = false },
    next_edit = { debounce_ms = 50 },
  })
  local nextedit = require('tandem.nextedit')
  local path = os.getenv('TANDEM_TEST_DIR') .. '/geo.py'
  vim.fn.writefile(SOURCE, path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  if not wait_until(60000, function()
    local c = require('tandem.client').get(buf)
    return c ~= nil and c.initialized and c.server_capabilities ~= nil
  end) then
    return finish('client did not attach')
  end
  sleep(300) -- the server's initialized handler pulls the settings

  -- The user renames the parameter `w` on the first line (Normal mode: ciw, type, Esc).
  vim.api.nvim_win_set_cursor(0, { 1, 9 })
  keys('ciwwidth<Esc>')
  out.shown = wait_until(30000, nextedit.visible)
  out.after_rename = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  if not out.shown then
    return finish('no next-edit suggestion after the rename')
  end
  local ns = vim.api.nvim_get_namespaces()['tandem_nextedit']
  out.marks = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
    local d = m[4]
    local virt = {}
    for _, l in ipairs(d.virt_lines or {}) do
      table.insert(virt, l[1][1])
    end
    table.insert(out.marks, {
      row = m[2], col = m[3], end_row = d.end_row or vim.NIL, end_col = d.end_col or vim.NIL,
      hl = d.hl_group or vim.NIL, virt_lines = virt,
    })
  end
  out.cursor_before_jump = vim.api.nvim_win_get_cursor(0)
  keys('<M-n>')
  sleep(100)
  out.cursor_after_jump = vim.api.nvim_win_get_cursor(0)
  keys('<M-y>')
  sleep(200)
  out.after_accept = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  out.visible_after_accept = nextedit.visible()
  log('done')
  finish(nil)
end

lib.run(main)
