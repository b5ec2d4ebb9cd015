/** The unified diff GET /control/v1/evolution/:id/diff returns: hunks with 3 lines of context, -/+ order. */
import { expect, test } from "bun:test"
import { unifiedDiff } from "../../src/api/evolution-diff.ts"

const numbered = (count: number) => Array.from({ length: count }, (_, i) => `line ${i + 1}\n`).join("")

test("a change near the top and one near the end make two hunks with their line numbers", () => {
  const before = numbered(20)
  const after = before.replace("line 3\n", "line three\n").replace("line 18\n", "").concat("line 21\n")
  expect(unifiedDiff("f.txt", before, after)).toBe(
    [
      "--- a/f.txt",
      "+++ b/f.txt",
      "@@ -1,6 +1,6 @@",
      " line 1",
      " line 2",
      "-line 3",
      "+line three",
      " line 4",
      " line 5",
      " line 6",
      "@@ -15,6 +15,6 @@",
      " line 15",
      " line 16",
      " line 17",
      "-line 18",
      " line 19",
      " line 20",
      "+line 21",
      "",
    ].join("\n"),
  )
})

test("an added and a deleted file diff against /dev/null", () => {
  expect(unifiedDiff("new.md", null, "a\nb\n")).toBe("--- /dev/null\n+++ b/new.md\n@@ -0,0 +1,2 @@\n+a\n+b\n")
  expect(unifiedDiff("old.md", "x\n", null)).toBe("--- a/old.md\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n")
})
