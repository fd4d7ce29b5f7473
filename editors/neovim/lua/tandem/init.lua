-- Tandem for Neovim: require('tandem').setup{ cmd = { 'tandem', 'lsp' }, settings = { ... } }
local config = require('tandem.config')

local M = {}

local subcommands = {
  status = function()
    local s = require('tandem.status')
    vim.notify(s.format(s.last) .. (s.last and s.last.message ~= '' and ('\n' .. s.last.message) or ''))
  end,
  toggle = function()
    local on = require('tandem.ghost').toggle()
    vim.notify('Tandem suggestions ' .. (on and 'on' or 'off') .. ' for this buffer')
  end,
  suggest = function()
    require('tandem.ghost').request(nil, 1)
  end,
}
for _, kind in ipairs(require('tandem.codechat').kinds) do
  subcommands[kind] = function(opts)
    require('tandem.codechat').run(kind, opts)
  end
end

local function tandem_command(opts)
  local name, rest = opts.args:match('^(%S+)%s*(.*)$')
  local fn = name and subcommands[name]
  if not fn then
    return vim.notify('Tandem: unknown subcommand ' .. tostring(name), vim.log.levels.ERROR)
  end
  fn(vim.tbl_extend('force', opts, { args = rest }))
end

function M.setup(opts)
  config.merge(opts)
  local client = require('tandem.client')
  local group = vim.api.nvim_create_augroup('tandem', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    callback = function(ev)
      client.start(ev.buf)
    end,
  })
  vim.api.nvim_create_user_command('Tandem', tandem_command, {
    nargs = '+',
    range = true,
    desc = 'Tandem: refactor|tests|docs|explain|ask [instruction], status, toggle, suggest',
    complete = function(arglead, line)
      if line:match('^%S+%s+%S+%s') then
        return {}
      end
      return vim.tbl_filter(function(n)
        return vim.startswith(n, arglead)
      end, vim.tbl_keys(subcommands))
    end,
  })
  -- Buffers already open when setup() runs.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype ~= '' then
      client.start(buf)
    end
  end
end

-- For your statusline: `%{v:lua.require'tandem'.statusline()}`.
function M.statusline()
  local status = require('tandem.status')
  if not status.last then
    return ''
  end
  return status.format(status.last)
end

function M.accept()
  return require('tandem.ghost').accept()
end

function M.accept_word()
  return require('tandem.ghost').accept_word()
end

function M.accept_line()
  return require('tandem.ghost').accept_line()
end

function M.dismiss()
  return require('tandem.ghost').dismiss()
end

function M.suggest()
  return require('tandem.ghost').request(nil, 1)
end

-- Change the server's `tandem` settings at run time (sent as workspace/didChangeConfiguration).
function M.set_settings(settings)
  require('tandem.client').update_settings(settings)
end

return M
