// Streaming gunzip for .entries.jsonl.gz objects. The default uses the web-standard
// DecompressionStream (Node >= 18, browsers, Deno, Bun), which also rejects trailing bytes
// after the gzip member; Node callers may inject a zlib-based one (node-gunzip.ts).

export type Decompressor = (src: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

export const webGunzip: Decompressor = async function* (src) {
  const ds = new DecompressionStream('gzip');
  const writer = ds.writable.getWriter();
  // Feed the compressed bytes concurrently with reading, so backpressure cannot deadlock.
  const pump = (async () => {
    try {
      for await (const chunk of src) await writer.write(chunk);
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
      throw err;
    }
  })();
  pump.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
  const reader = (ds.readable as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
  await pump;
};
