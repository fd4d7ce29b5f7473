-- Options for require('tandem').setup{}: defaults, merging, and what goes to the server.
local M = {}

M.defaults = {
  -- How to start the server. A list: { 'tandem', 'lsp' } or { '/path/to/python', '-m', 'lsp_server', 'lsp' }.
  cmd = { 'tandem', 'lsp' },
  -- Filetypes to attach to; nil attaches to every normal file buffer.
  filetypes = nil,
  -- Project root detection (the first directory upwards holding one of these); else cwd.
  root_markers = { '.git', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod', 'Makefile' },
  -- The server's `tandem` settings section, camelCase as on the wire, e.g.
  -- { model = '/models/qwen2.5-coder-1.5b-q8_0.gguf', maxTokens = 64 } (a GGUF file on a CPU;
  -- empty: the server's default model).
  settings = {},
  ghost = {
    auto_trigger = true, -- ask for a suggestion while typing in Insert mode
    debounce_ms = 150,
    hl_group = 'Comment',
  },
  -- Insert-mode keys; false disables one. Without a visible suggestion each key does what it did before.
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-Down>',
    dismiss = '<C-]>',
    suggest = '<M-\\>',
    next = '<M-]>', -- cycle to the next candidate (asks the server for several on first press)
    prev = '<M-[>',
  },
  -- Next-edit suggestions (the server's `nextEdit` setting turns them on; see editors/README.md):
  -- shown in place, the replaced text marked, the new line(s) as virtual lines below.
  next_edit = {
    enabled = true,
    auto_trigger = true, -- ask after a change in Normal mode and when leaving Insert mode
    debounce_ms = 300,
    delete_hl = 'DiffDelete',
    add_hl = 'DiffAdd',
    keymaps = { jump = '<M-n>', accept = '<M-y>', dismiss = '<M-e>' }, -- Normal and Insert mode
  },
  -- 'auto': Neovim's own vim.lsp.inline_completion on 0.12+, Tandem's extmarks before that.
  native = 'auto',
}

M.options = vim.deepcopy(M.defaults)

function M.merge(user)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), user or {})
  -- A list must replace, never merge index by index.
  if user and user.cmd then
    M.options.cmd = user.cmd
  end
  if user and user.root_markers then
    M.options.root_markers = user.root_markers
  end
  return M.options
end

-- Whether to use Neovim's built-in inline completion (0.12+).
function M.use_native()
  local has = vim.lsp.inline_completion ~= nil and vim.fn.has('nvim-0.12') == 1
  if M.options.native == 'auto' then
    return has
  end
  return M.options.native == true and has
end

return M
