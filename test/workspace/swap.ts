/**
 * The audit's attacker, as its own process: exchange two names (a folder and a symlink) atomically with
 * renameat2(RENAME_EXCHANGE), over and over, until killed. `bun swap.ts <a> <b>`; prints "ready" once
 * the first exchange worked, so the test starts its calls while the swapping is under way.
 */
import { dlopen, FFIType, ptr } from "bun:ffi"

const AT_FDCWD = -100
const RENAME_EXCHANGE = 2
const libc = dlopen("libc.so.6", {
  renameat2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
})
const [a, b] = process.argv.slice(2).map((path) => Buffer.from(`${path}\0`))
if (!a || !b) throw new Error("usage: swap.ts <a> <b>")
if (libc.symbols.renameat2(AT_FDCWD, ptr(a), AT_FDCWD, ptr(b), RENAME_EXCHANGE) !== 0)
  throw new Error("renameat2 failed")
console.log("ready")
for (;;) libc.symbols.renameat2(AT_FDCWD, ptr(a), AT_FDCWD, ptr(b), RENAME_EXCHANGE)
