/**
 * `image_url` content parts of the OpenAI-compatible endpoint, turned into images of the turn (what
 * `/control/v1/sessions/{id}/turn` takes as `images`). A data URL is decoded in place; an http(s) URL is
 * fetched by the gateway through web.fetch's SSRF guard (every hop vetted, the connection pinned to the
 * vetted address, loopback and private networks only as `tools.web.allowHosts` admits them), within a
 * time and size limit, and only an image type the providers take is kept. The model never sees a URL
 * it could use to make the gateway reach somewhere: it gets the bytes.
 */
import type { Gateway } from "../gateway/gateway.ts"
import { follow, readCapped } from "../tool/builtin/web.ts"
import { allowList } from "../tool/builtin/web-guard.ts"
import { openaiError } from "./openai-errors.ts"

/** The image types every provider adapter accepts. */
export const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"])
/** Per image: OpenAI's own limit is 20 MB; a fetched image over this is refused. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024
export const MAX_IMAGES = 16
const FETCH_TIMEOUT_MS = 15_000

export interface TurnImage {
  mediaType: string
  data: string
}

class ImageRefused extends Error {}

function fromDataUrl(url: string): TurnImage {
  const match = /^data:([^;,]+)((?:;[^;,]+)*?);base64,(.*)$/s.exec(url)
  if (!match) throw new ImageRefused("a data URL must be data:<image type>;base64,<bytes>")
  const mediaType = match[1]!.toLowerCase()
  if (!IMAGE_TYPES.has(mediaType))
    throw new ImageRefused(`image type ${mediaType} is not supported; send ${[...IMAGE_TYPES].join(", ")}`)
  const data = match[3]!.replace(/\s+/g, "")
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new ImageRefused("the data URL's bytes are not valid base64")
  if ((data.length * 3) / 4 > MAX_IMAGE_BYTES) throw new ImageRefused(`the image is over ${MAX_IMAGE_BYTES} bytes`)
  return { mediaType, data }
}

async function fromWeb(url: URL, allowHosts: string[]): Promise<TurnImage> {
  const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS)
  const { response } = await follow(url, allowList(allowHosts), {
    method: "GET",
    headers: new Headers({ accept: [...IMAGE_TYPES].join(", ") }),
    signal,
  }).catch((error: Error) => {
    throw new ImageRefused(
      signal.aborted ? `fetching ${url.href} took longer than ${FETCH_TIMEOUT_MS} ms` : error.message,
    )
  })
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase()
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw new ImageRefused(`fetching ${url.href} answered ${response.status}`)
  }
  if (!IMAGE_TYPES.has(mediaType)) {
    await response.body?.cancel().catch(() => {})
    throw new ImageRefused(
      `${url.href} is ${mediaType || "of no declared type"}, not an image of type ${[...IMAGE_TYPES].join(", ")}`,
    )
  }
  const declared = Number(response.headers.get("content-length") ?? 0)
  if (declared > MAX_IMAGE_BYTES) {
    await response.body?.cancel().catch(() => {})
    throw new ImageRefused(`${url.href} is ${declared} bytes; the limit is ${MAX_IMAGE_BYTES}`)
  }
  const { bytes, truncated } = await readCapped(response, MAX_IMAGE_BYTES)
  if (truncated) throw new ImageRefused(`${url.href} is over ${MAX_IMAGE_BYTES} bytes`)
  return { mediaType, data: Buffer.from(bytes).toString("base64") }
}

/** The images behind `urls`, or a 400 in OpenAI's shape naming the part (`param`) that cannot be used. */
export async function fetchImages(urls: string[], gw: Gateway, param: string): Promise<TurnImage[] | Response> {
  if (urls.length > MAX_IMAGES)
    return openaiError(400, `at most ${MAX_IMAGES} images per message`, "too_many_images", param)
  const allowHosts = gw.config.tools?.web?.allowHosts ?? []
  const images: TurnImage[] = []
  for (const [index, url] of urls.entries()) {
    try {
      if (url.startsWith("data:")) images.push(fromDataUrl(url))
      else if (/^https?:\/\//i.test(url)) images.push(await fromWeb(new URL(url), allowHosts))
      else throw new ImageRefused("an image_url must be a data: URL or an http(s) URL")
    } catch (error) {
      if (!(error instanceof ImageRefused) && !(error instanceof TypeError)) throw error
      return openaiError(400, `image ${index + 1}: ${error.message}`, "invalid_image_url", param)
    }
  }
  return images
}
