// The languages Tandem serves in VS Code: activation events (package.json) and the client's
// document selector come from this one list, so the model is not loaded for every file type
// (output panes, settings JSON, git views...). No `vscode` import (unit-tested).

export const LANGUAGES = ["python", "javascript", "javascriptreact", "typescript", "typescriptreact", "java", "kotlin", "go", "rust", "c", "cpp", "csharp", "ruby", "php", "lua", "shellscript", "scala", "swift", "sql", "html", "css", "scss", "json", "jsonc", "yaml", "toml", "markdown", "dockerfile", "makefile", "r", "julia", "dart", "elixir", "haskell", "ocaml", "perl", "vue", "svelte"] as const;

/** Real files (and untitled buffers) in those languages only. */
export function documentSelector(): { scheme: string; language: string }[] {
  return LANGUAGES.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}
