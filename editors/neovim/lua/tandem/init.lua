-- Tandem for Neovim: require('tandem').setup{ cmd = { 'tandem', 'lsp' }, settings = { ... } }
-- Needs Neovim 0.10+. On older versions setup() says so, once, and does nothing else.
local M = {}

M.VERSION_MESSAGE = 'Tandem needs Neovim ≥ 0.10'

function M.supported()
  return vim.fn.has('nvim-0.10') == 1
end

local function refuse()
  -- Scheduled: a message echoed while init.lua still runs hides the first screen on 0.7.
  vim.schedule(function()
    vim.api.nvim_echo({ { M.VERSION_MESSAGE, 'WarningMsg' } }, true, {})
  end)
end

if not M.supported() then
  -- Nothing below may load on old versions (it uses vim.fs, vim.lsp.get_clients, vim.health...).
  function M.setup()
    refuse()
    vim.api.nvim_create_user_command('Tandem', refuse, { nargs = '*', range = true, force = true })
  end
  M.statusline = function()
    return ''
  end
  return M
end

local config = require('tandem.config')

local subcommands = {
  status = function()
    local s = require('tandem.status')
    local lines = { s.format(s.last) }
    if s.last and s.last.message and s.last.message ~= '' then
      table.insert(lines, s.last.message)
    end
    vim.list_extend(lines, s.details(s.last))
    vim.list_extend(lines, s.notices or {}) -- the server's notices (which model is in use)
    vim.notify(table.concat(lines, '\n'))
  end,
  toggle = function()
    local on = require('tandem.ghost').toggle()
    vim.notify('Tandem suggestions ' .. (on and 'on' or 'off') .. ' for this buffer')
  end,
  suggest = function()
    require('tandem.ghost').request(nil, 1)
  end,
  enable = function(opts)
    M.enable(opts.args ~= '' and opts.args or nil)
  end,
  disable = function(opts)
    M.disable(opts.args ~= '' and opts.args or nil)
  end,
  snooze = function(opts)
    M.snooze(tonumber(opts.args) or 30)
  end,
  unsnooze = function()
    M.snooze(0)
  end,
  -- next-edit suggestions: ask now, jump to the shown one, accept it, dismiss it
  nextedit = function()
    require('tandem.nextedit').request()
  end,
  jumpedit = function()
    require('tandem.nextedit').jump()
  end,
  acceptedit = function()
    require('tandem.nextedit').accept()
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
  if not M.supported() then
    return refuse()
  end
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
    desc = 'Tandem: refactor|tests|docs|explain|ask [instruction], status, toggle, suggest, enable|disable [filetype], snooze [minutes], unsnooze, nextedit, jumpedit, acceptedit',
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
  local label = require('tandem.ghost').candidate_label()
  return status.format(status.last) .. (label ~= '' and (' ' .. label) or '')
end

-- Run-time toggles, no restart: the `enabled` / `disabledLanguages` settings, pushed to the
-- server with workspace/didChangeConfiguration. `lang` nil: all languages.
local function set_enabled(on, lang)
  local settings = vim.deepcopy(config.options.settings or {})
  if lang then
    local langs = vim.tbl_filter(function(l)
      return l ~= lang
    end, settings.disabledLanguages or {})
    if not on then
      table.insert(langs, lang)
    end
    settings.disabledLanguages = langs
  else
    settings.enabled = on
  end
  require('tandem.client').update_settings(settings)
  require('tandem.ghost').dismiss()
  vim.notify('Tandem suggestions ' .. (on and 'enabled' or 'disabled') .. (lang and (' for ' .. lang) or ''))
end

function M.enable(lang)
  set_enabled(true, lang)
end

function M.disable(lang)
  set_enabled(false, lang)
end

-- Snooze suggestions for `minutes` (0 ends it): the server's tandem.snooze command.
function M.snooze(minutes)
  require('tandem.ghost').dismiss()
  local clients = vim.lsp.get_clients({ name = 'tandem' })
  for _, c in ipairs(clients) do
    require('tandem.client').request(c, 'workspace/executeCommand', {
      command = 'tandem.snooze',
      arguments = { { minutes = minutes } },
    }, function(err, result)
      if err then
        return vim.notify('Tandem snooze: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end
      require('tandem.status').update(result)
    end)
  end
  vim.notify(minutes > 0 and string.format('Tandem suggestions snoozed for %g min', minutes) or 'Tandem snooze ended')
end

function M.cycle(step)
  return require('tandem.ghost').cycle(step)
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
