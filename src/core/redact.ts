/**
 * Credentials out of text that leaves the process. Camera URLs carry them
 * (rtsp://user:password@host/...), and ffmpeg repeats the URL in its error
 * lines, so every message that names a source passes through here before it
 * reaches a client, an HTTP answer or a log.
 */

/** `scheme://user:pass@host` -> `scheme://<redacted>@host`, anywhere in `text`, any number of times. */
export function redactCredentials(text: string): string {
  // The userinfo runs from '//' to the last '@' before the host's first '/', whitespace or quote.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/'"<>@]*(?:@[^\s/'"<>@]*)*@/gi, '$1<redacted>@');
}
