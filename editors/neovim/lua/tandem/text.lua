-- Pure helpers for suggestions: no buffers, no LSP. Unit-testable in plain Lua.
local M = {}

-- The part of `text` that "accept word" takes: leading blanks plus one word or one run of symbols.
function M.next_word(text)
  return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+') or text:match('^%s+') or text
end

-- The part "accept line" takes: up to the end of the first line (a leading newline plus the next line).
function M.next_line(text)
  local nl = text:find('\n', 2, true)
  if text:sub(1, 1) == '\n' then
    return nl and text:sub(1, nl - 1) or text
  end
  nl = text:find('\n', 1, true)
  return nl and text:sub(1, nl - 1) or text
end

-- Pure: what is left of `suggestion` after the user typed `typed` at its start, or nil when
-- the typed text is not how the suggestion begins (then it is stale).
function M.after_typed(suggestion, typed)
  if typed == '' or suggestion:sub(1, #typed) ~= typed then
    return nil
  end
  return suggestion:sub(#typed + 1)
end

-- Byte column of an LSP character offset in `line` for the negotiated encoding.
function M.byte_col(line, char, encoding)
  if encoding == 'utf-8' then
    return math.min(char, #line)
  end
  local ok, col
  if vim.fn.has('nvim-0.11') == 1 then
    ok, col = pcall(vim.str_byteindex, line, encoding, char, false)
  else
    ok, col = pcall(vim.str_byteindex, line, char, encoding == 'utf-16')
  end
  return ok and col or #line
end

-- insertText of an InlineCompletionItem (a string, or a snippet StringValue we show verbatim).
function M.insert_text(item)
  local t = item.insertText
  if type(t) == 'table' then
    return t.value or ''
  end
  return t or ''
end

-- The text still to insert at the cursor (byte col `col` in `line`), or nil if the item doesn't
-- continue what is typed. Items may replace a range that starts before the cursor and ends after
-- it (re-typed closers: "True)" over the `)` already there). Second result: the text after the
-- cursor that accepting the whole item replaces ('' when the range ends at the cursor).
function M.remaining(item, line, col, encoding)
  local text = M.insert_text(item)
  local tail = ''
  if item.range then
    local start = M.byte_col(line, item.range.start.character, encoding)
    if start < col then
      local typed = line:sub(start + 1, col)
      if text:sub(1, #typed) ~= typed then
        return nil
      end
      text = text:sub(#typed + 1)
    end
    if item.range['end'].line == item.range.start.line then
      local stop = M.byte_col(line, item.range['end'].character, encoding)
      if stop > col then
        tail = line:sub(col + 1, stop)
      end
    end
  end
  if text == '' then
    return nil
  end
  return text, tail
end

return M
