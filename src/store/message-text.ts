/**
 * The SQL expression for the text of a message: its `text` parts (from the `parts` JSON column) joined
 * by newlines, NULL when it has none. Shared by the index's migration (db.ts) and its batches (search.ts),
 * so what is indexed at migration and at run time is the same. A row whose JSON is not valid (written
 * by hand, or damaged) has no text rather than failing the whole batch, and with it every later one.
 */
export const MESSAGE_TEXT = (parts: string) =>
  `(SELECT group_concat(p.value ->> '$.text', char(10)) FROM json_each(CASE WHEN json_valid(${parts}) THEN ${parts} ELSE '[]' END) AS p WHERE p.value ->> '$.type' = 'text')`
