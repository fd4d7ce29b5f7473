-- Insert-mode keys. Each acts only while a suggestion is visible; otherwise the key does its usual job.
local config = require('tandem.config')

local M = {}

local actions = {
  accept = 'accept',
  accept_word = 'accept_word',
  accept_line = 'accept_line',
  dismiss = 'dismiss',
}

local function native_map(bufnr, name, lhs)
  -- Neovim 0.12 accepts the whole suggestion; word/line acceptance is not offered natively.
  vim.keymap.set('i', lhs, function()
    if name ~= 'dismiss' and vim.lsp.inline_completion.get() then
      return ''
    end
    return lhs
  end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = 'Tandem ' .. name })
end

function M.set(bufnr)
  local keys = config.options.keymaps or {}
  local native = config.use_native()
  for name, fn in pairs(actions) do
    local lhs = keys[name]
    if lhs then
      if native then
        native_map(bufnr, name, lhs)
      else
        -- <Cmd> runs outside the expr mapping's textlock, so the buffer may be edited.
        vim.keymap.set('i', lhs, function()
          if require('tandem.ghost').visible() then
            return '<Cmd>lua require("tandem.ghost").' .. fn .. '()<CR>'
          end
          return lhs
        end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = 'Tandem ' .. name })
      end
    end
  end
  for name, step in pairs({ next = 1, prev = -1 }) do
    local lhs = keys[name]
    if lhs and not native then
      vim.keymap.set('i', lhs, function()
        require('tandem.ghost').cycle(step)
      end, { buffer = bufnr, desc = 'Tandem ' .. name .. ' suggestion' })
    end
  end
  if keys.suggest then
    vim.keymap.set('i', keys.suggest, function()
      if native then
        pcall(vim.lsp.inline_completion.select, {})
      else
        require('tandem.ghost').request(bufnr, 1)
      end
    end, { buffer = bufnr, desc = 'Tandem suggest' })
  end
end

return M
