export interface JsonShapeLimits {
  readonly maxValues: number;
  readonly maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Why JSON text is refused, or null: it would hold more than `maxValues`
 * values or nest deeper than `maxDepth`. Checked before `JSON.parse` builds it: 64 MiB of `[{},{},…]` is 22
 * million objects and gigabytes of heap. Every value but the first follows a
 * comma or opens a container, so their sum bounds the count. Byte-wise is
 * enough: UTF-8 never reuses ASCII bytes inside a multi-byte character.
 */
export function jsonShapeProblem(text: Buffer, limits: JsonShapeLimits): string | null {
  let values = 1;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const byte = text[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === COMMA) {
      values++;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      values++;
      if (++depth > limits.maxDepth) return `request body nests deeper than ${limits.maxDepth} levels`;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
    if (values > limits.maxValues) return `request body holds more than ${limits.maxValues} JSON values`;
  }
  return null;
}
