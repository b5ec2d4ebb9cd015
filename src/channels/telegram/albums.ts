/**
 * Albums (media groups) arrive as one update per item, in quick succession. The collector gathers the
 * items of a chat's current album and hands them over as one unit when no new item came for `waitMs`,
 * when another album starts, or when the next ordinary message of the chat needs the album handled
 * first (so the chat's order is kept).
 */
import type { Message } from "grammy/types"

export interface Album {
  chatId: number
  groupId: string
  updateIds: number[]
  messages: Message[]
}

export function createAlbums(waitMs: number, ready: (album: Album) => void) {
  const open = new Map<number, { album: Album; timer: ReturnType<typeof setTimeout> }>()

  const take = (chatId: number): Album | null => {
    const entry = open.get(chatId)
    if (!entry) return null
    clearTimeout(entry.timer)
    open.delete(chatId)
    return entry.album
  }

  return {
    /** Add an item; returns an album of the same chat that this item closed, if any. */
    add(updateId: number, message: Message): Album | null {
      const chatId = message.chat.id
      const groupId = message.media_group_id ?? String(updateId)
      const current = open.get(chatId)
      const closed = current && current.album.groupId !== groupId ? take(chatId) : null
      const entry = open.get(chatId) ?? {
        album: { chatId, groupId, updateIds: [], messages: [] },
        timer: setTimeout(() => {}, 0),
      }
      clearTimeout(entry.timer)
      entry.album.updateIds.push(updateId)
      entry.album.messages.push(message)
      entry.timer = setTimeout(() => {
        const album = take(chatId)
        if (album) ready(album)
      }, waitMs)
      open.set(chatId, entry)
      return closed
    },
    /** The chat's open album, taken out of the collector (its timer cancelled). */
    take,
    clear() {
      for (const entry of open.values()) clearTimeout(entry.timer)
      open.clear()
    },
  }
}
