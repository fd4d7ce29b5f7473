-- Neovim 0.12+: its own inline completion renders and accepts suggestions; we only enable it.
local keymaps = require('tandem.keymaps')
local M = {}

function M.attach(bufnr)
  local ok, err = pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr })
  if not ok then
    vim.notify('Tandem: native inline completion failed: ' .. tostring(err), vim.log.levels.WARN)
  end
  keymaps.set(bufnr)
end

return M
