-- Starting `tandem lsp` for a buffer and finding its client.
local config = require('tandem.config')
local status = require('tandem.status')

local M = { name = 'tandem' }

-- Neovim 0.10 calls client methods with a dot, 0.11+ with a colon.
local new_api = vim.fn.has('nvim-0.11') == 1

function M.request(client, method, params, handler, bufnr)
  if new_api then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.cancel(client, id)
  if new_api then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

function M.notify(client, method, params)
  if new_api then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.get(bufnr)
  local clients = vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
  return clients[1]
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  -- Declaring inlineCompletion makes the server offer it instead of plain completion.
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  -- We show CodeChat outcomes ourselves (tandem/chatResult: the float, a notification), so the
  -- server sends us no window/showMessage copy of them.
  caps.experimental = vim.tbl_extend('force', caps.experimental or {}, { tandem = { chatResult = true } })
  return caps
end

local function root_dir(bufnr)
  local markers = config.options.root_markers
  if vim.fs.root then
    return vim.fs.root(bufnr, markers) or vim.fn.getcwd()
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  local found = vim.fs.find(markers, { path = vim.fs.dirname(path), upward = true })[1]
  return found and vim.fs.dirname(found) or vim.fn.getcwd()
end

local function handlers()
  return {
    ['tandem/status'] = function(_, result)
      status.update(result)
    end,
    ['tandem/chatProgress'] = function(_, result)
      require('tandem.codechat').on_progress(result)
    end,
    ['tandem/chatResult'] = function(_, result)
      require('tandem.codechat').on_result(result)
    end,
    ['window/showMessage'] = function(err, result, ctx, cfg)
      -- The one-time "slow" hint is for clients without a status line; here the statusline
      -- says "slow" and :Tandem status has the hint, so it would only be a Press-ENTER prompt.
      local slow = type(result) == 'table' and type(result.message) == 'string'
        and result.message:match('^Tandem: slow:') ~= nil
      if slow then
        vim.lsp.log.info('tandem showMessage (shown in the statusline):', result.message)
        return vim.NIL
      end
      -- Info notices (which model is in use) must not stop every start on "Press ENTER": one
      -- line that fits the command line now; the whole text in :Tandem status and lsp.log.
      local info = type(result) == 'table' and type(result.message) == 'string'
        and (result.type or 1) >= vim.lsp.protocol.MessageType.Info
      if info then
        status.notices = status.notices or {}
        table.insert(status.notices, result.message)
        vim.lsp.log.info('tandem showMessage:', result.message)
        local line = result.message:gsub('%s*\n%s*', ' ')
        local room = math.max(20, vim.v.echospace - 1)
        if vim.fn.strdisplaywidth(line) > room then
          line = vim.fn.strcharpart(line, 0, room - 1) .. '…'
        end
        vim.api.nvim_echo({ { line } }, false, {})
        return vim.NIL
      end
      return vim.lsp.handlers['window/showMessage'](err, result, ctx, cfg)
    end,
  }
end

-- Client-side commands: code actions' tandem.* commands go through our runner, which opens the
-- answer float and follows the run to its tandem/chatResult. `tandem.openFile` (the follow-up of a
-- resolved "Generate tests" action) is not listed: Neovim sends it to the server, which shows the
-- new file through window/showDocument.
local function commands()
  local cmds = {}
  for _, kind in ipairs(require('tandem.codechat').kinds) do
    cmds['tandem.' .. kind] = function(command, ctx)
      require('tandem.codechat').execute(ctx.client_id, command.command, (command.arguments or {})[1] or {}, ctx.bufnr)
    end
  end
  return cmds
end

function M.attachable(bufnr)
  if vim.bo[bufnr].buftype ~= '' or vim.api.nvim_buf_get_name(bufnr) == '' then
    return false
  end
  local fts = config.options.filetypes
  return fts == nil or vim.tbl_contains(fts, vim.bo[bufnr].filetype)
end

-- Start (or reuse) the client for this buffer's project. Returns the client id or nil.
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not M.attachable(bufnr) then
    return nil
  end
  local opts = config.options
  local settings = M.settings_object(opts.settings)
  return vim.lsp.start({
    name = M.name,
    cmd = opts.cmd,
    -- Neovim logs each stderr line as [ERROR] in lsp.log: keep stderr for real errors; the
    -- server's info/warnings arrive through window/logMessage at their own level.
    cmd_env = { TANDEM_STDERR_LOG_LEVEL = 'ERROR' },
    root_dir = root_dir(bufnr),
    capabilities = capabilities(),
    init_options = settings,
    settings = { tandem = settings }, -- answers workspace/configuration for section "tandem"
    handlers = handlers(),
    commands = commands(),
    on_attach = function(client, b)
      require('tandem.ghost').on_attach(client, b)
      require('tandem.nextedit').on_attach(client, b)
    end,
  }, { bufnr = bufnr })
end

-- The settings as a JSON object: an empty Lua table would go out as `[]` (an array), which
-- the server reads as an unknown setting.
function M.settings_object(settings)
  settings = vim.deepcopy(settings or {})
  if vim.tbl_isempty(settings) then
    return vim.empty_dict()
  end
  return settings
end

-- Push new settings to running clients (workspace/didChangeConfiguration).
function M.update_settings(settings)
  settings = M.settings_object(settings)
  config.options.settings = settings
  require('tandem.nextedit').reset()
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    client.settings = { tandem = settings }
    M.notify(client, 'workspace/didChangeConfiguration', { settings = { tandem = settings } })
  end
end

return M
