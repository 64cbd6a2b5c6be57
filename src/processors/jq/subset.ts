/** One-line description of the supported subset, used in error messages and docs. */
export const JQ_SUBSET_SUMMARY =
  'jq 1.6 with one output per record: . .a ."a" .["a"] .[n] .[m:n] .a? literals "\\(x)" @base64 "..." ' +
  '[...] {a, b: .x, "c": .y, (.k): .v, $v} | // and or not == != < <= > >= + - * / % -x ' +
  'if-elif-else-end try-catch ? reduce `e as $x | ...`; generators (, .[] .. range recurse limit) only inside ' +
  '[...], map, first, reduce and similar collectors; builtins length utf8bytelength keys keys_unsorted has in ' +
  'inside contains type tostring tonumber tojson fromjson ascii_downcase ascii_upcase ltrimstr rtrimstr ' +
  'startswith endswith split/1 join explode implode add any all min max sort unique reverse first last nth ' +
  'flatten to_entries from_entries with_entries map select empty error recurse range limit isempty sort_by ' +
  'group_by unique_by min_by max_by IN getpath index rindex indices format, the type filters (values, ' +
  'strings, numbers, ...), math (floor ceil round trunc fabs sqrt pow log exp ...), dates (now gmtime ' +
  'mktime strftime strptime todate fromdate), formats @text @json @csv @tsv @html @uri @sh @base64 ' +
  '@base64d. Not supported: def, foreach, label, path updates (= |= += ...), destructuring, $ENV/env, ' +
  'input, regular expressions (test match capture scan splits sub gsub), path(s), localtime, debug, modules.';
