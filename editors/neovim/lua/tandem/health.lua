-- :checkhealth tandem
local M = {}

function M.check()
  if vim.fn.has('nvim-0.10') == 0 then
    -- Neovim < 0.10 has no vim.health (0.7: require('health').report_*), and Tandem does not run.
    local old = require('health')
    old.report_start('tandem')
    old.report_error(require('tandem').VERSION_MESSAGE)
    return
  end
  local h = vim.health
  local config = require('tandem.config')
  h.start('tandem')
  h.ok('Neovim ' .. tostring(vim.version()))
  if config.use_native() then
    h.ok('ghost text: Neovim built-in vim.lsp.inline_completion')
  else
    h.ok('ghost text: Tandem extmarks (textDocument/inlineCompletion)')
  end
  local cmd = config.options.cmd
  if type(cmd) == 'table' and vim.fn.executable(cmd[1]) == 1 then
    h.ok('server command: ' .. table.concat(cmd, ' '))
  else
    h.error('server command not executable: ' .. vim.inspect(cmd), {
      'Install Tandem (`pip install -e .` gives `tandem`) or set cmd = { "/path/to/python", "-m", "lsp_server", "lsp" }',
    })
  end
  local clients = vim.lsp.get_clients({ name = 'tandem' })
  if #clients == 0 then
    h.warn('no Tandem client running (open a file, or check `:Tandem status`)')
  end
  for _, c in ipairs(clients) do
    local caps = c.server_capabilities or {}
    h.info(string.format('client %d root=%s encoding=%s', c.id, tostring(c.root_dir), tostring(c.offset_encoding)))
    if caps.inlineCompletionProvider then
      h.ok('server offers inline completion')
    else
      h.warn('server offers no inline completion (completionMode setting?)')
    end
    if caps.codeActionProvider then
      h.ok('server offers CodeChat code actions')
    else
      h.info('server offers no code actions')
    end
  end
  local status = require('tandem.status')
  if status.last then
    local fn = status.last.state == 'error' and h.error or h.ok
    fn('last status: ' .. status.format(status.last) .. ' ' .. (status.last.message or ''))
  end
end

return M
