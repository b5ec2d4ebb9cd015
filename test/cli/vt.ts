/**
 * A small terminal emulator for PTY tests: replays what a program wrote and returns the rows a person
 * would see at the end — text overwritten by `\r`, erased by `ESC[K`/`ESC[J` or moved over by cursor
 * movement is gone, as on a real screen. It knows what readline and our chat write: printable text
 * with wrapping, CR, LF, BS, and the CSI sequences A B C D G H K J, J 2 included (colours and modes are ignored).
 */
export function render(output: string, cols: number): string[] {
  const rows: string[][] = [[]]
  let row = 0
  let col = 0
  /** After writing the last column the cursor waits there; the next character wraps first. */
  let pending = false
  const line = () => {
    while (rows.length <= row) rows.push([])
    return rows[row]!
  }
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!
    if (ch === "\x1b") {
      const csi = output.slice(i).match(/^\x1b\[([0-9;?]*)([ -/]*)([@-~])/)
      if (!csi) {
        const osc = output.slice(i).match(/^\x1b\][^\x07]*\x07/)
        i += (osc ? osc[0].length : 2) - 1
        continue
      }
      i += csi[0].length - 1
      const args = csi[1]!
        .replace("?", "")
        .split(";")
        .map((value) => Number(value) || 0)
      const n = Math.max(1, args[0] ?? 1)
      pending = false
      switch (csi[3]) {
        case "A":
          row = Math.max(0, row - n)
          break
        case "B":
          row += n
          break
        case "C":
          col = Math.min(cols - 1, col + n)
          break
        case "D":
          col = Math.max(0, col - n)
          break
        case "G":
          col = Math.min(cols - 1, n - 1)
          break
        case "H":
          row = Math.max(0, (args[0] || 1) - 1)
          col = Math.max(0, (args[1] || 1) - 1)
          break
        case "K": {
          const current = line()
          if (args[0] === 2) current.length = 0
          else if (args[0] === 1) current.fill(" ", 0, col + 1)
          else current.length = Math.min(current.length, col)
          break
        }
        case "J":
          if ((args[0] ?? 0) === 0) {
            line().length = Math.min(line().length, col)
            rows.length = row + 1
          } else if (args[0] === 2) rows.length = 0 // the whole screen (ink clears it when a frame fills it)
          break
      }
      continue
    }
    if (ch === "\r") {
      col = 0
      pending = false
    } else if (ch === "\n") {
      row++
      pending = false
    } else if (ch === "\b") {
      col = Math.max(0, col - 1)
      pending = false
    } else if (ch >= " ") {
      if (pending) {
        row++
        col = 0
        pending = false
      }
      const current = line()
      while (current.length < col) current.push(" ")
      current[col] = ch
      if (col === cols - 1) pending = true
      else col++
    }
  }
  return rows.map((cells) => cells.join("").trimEnd())
}
