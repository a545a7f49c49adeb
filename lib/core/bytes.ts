/** A Buffer view of the same bytes (no copy), for Buffer-only APIs and fast UTF-8 decoding. */
export function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
