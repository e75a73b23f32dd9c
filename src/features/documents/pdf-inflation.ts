import { createInflate, constants, type Inflate } from 'node:zlib';

// A stream's filter list sits in its dictionary, just before the `stream` keyword; a longer
// dictionary is not one pdf.js would find a filter in either.
const DICTIONARY_LOOKBACK = 4096;
// Filters applied one after another: each FlateDecode in the list is one more inflate.
const MAX_FLATE_LAYERS = 4;

/**
 * Whether the FlateDecode streams of a PDF inflate, all together, to at most `maxBytes`.
 *
 * pdf.js inflates a stream into one growing buffer outside the V8 heap, so a few megabytes of
 * deflated zeros become gigabytes of resident memory that no heap limit sees. This reads the
 * file the way a bomb is built (stream … endstream, with FlateDecode in the dictionary) and
 * inflates each stream with zlib, counting and discarding the output: memory stays at zlib's
 * window, and it stops at the first byte past the limit. A stream zlib cannot read (encrypted,
 * corrupt, another filter first) is not counted: the memory cap of the extraction process
 * still bounds what pdf.js makes of it.
 */
export async function inflatesWithin(pdf: Uint8Array, maxBytes: number): Promise<boolean> {
  const bytes = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  let budget = maxBytes;
  for (const stream of flateStreams(bytes)) {
    budget -= await inflatedSize(stream.data, stream.layers, budget + 1);
    if (budget < 0) return false;
  }
  return true;
}

interface FlateStream {
  data: Buffer;
  layers: number;
}

function* flateStreams(bytes: Buffer): Generator<FlateStream> {
  let from = 0;
  for (;;) {
    const keyword = bytes.indexOf('stream', from, 'latin1');
    if (keyword < 0) return;
    from = keyword + 'stream'.length;
    // `endstream` is the other place the word appears.
    if (bytes.subarray(Math.max(0, keyword - 3), keyword).toString('latin1') === 'end') continue;
    let start = from;
    if (bytes[start] === 0x0d) start++;
    if (bytes[start] === 0x0a) start++;
    const end = bytes.indexOf('endstream', start, 'latin1');
    if (end < 0) return;
    const dictionary = bytes.subarray(Math.max(0, keyword - DICTIONARY_LOOKBACK), keyword).toString('latin1');
    const ownDictionary = dictionary.slice(dictionary.lastIndexOf('obj') + 1);
    const layers = Math.min(MAX_FLATE_LAYERS, ownDictionary.match(/\/FlateDecode\b/g)?.length ?? 0);
    if (layers > 0) yield { data: bytes.subarray(start, end), layers };
    from = end + 'endstream'.length;
  }
}

/** Bytes `data` inflates to through `layers` inflates, counted up to `limit` (then it stops). */
function inflatedSize(data: Buffer, layers: number, limit: number): Promise<number> {
  return new Promise((resolve) => {
    // A stream cut short still inflates as far as it goes, as pdf.js reads it.
    const chain: Inflate[] = Array.from({ length: layers }, () => createInflate({ finishFlush: constants.Z_SYNC_FLUSH }));
    let size = 0;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      for (const inflate of chain) inflate.destroy();
      resolve(size);
    };
    for (let i = 0; i < chain.length - 1; i++) chain[i]!.pipe(chain[i + 1]!);
    for (const inflate of chain) inflate.on('error', settle);
    const last = chain.at(-1)!;
    last.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size >= limit) settle();
    });
    last.on('end', settle);
    chain[0]!.end(data);
  });
}
