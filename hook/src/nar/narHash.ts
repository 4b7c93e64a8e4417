import { createHash, type Hash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';
import { formatNarHash } from '@lilac/common';

/** What Nix records for a store path: SHA-256 of its NAR serialisation and that serialisation's length. */
export interface NarDigest {
  /** `sha256:<nix-base32>` */
  readonly narHash: string;
  readonly narSize: number;
}

const READ_CHUNK = 1 << 20;
const PADDING = Buffer.alloc(8);

/**
 * Feeds the NAR serialisation of a file tree (Nix's `dumpPath`) into a sink
 * without ever holding more than one read chunk: every string is a
 * little-endian u64 length, the bytes, and zero padding to 8 bytes.
 * Names and link targets stay raw bytes so non-UTF-8 names hash as Nix does.
 */
class NarWriter {
  size = 0;
  private readonly lengthBuffer = Buffer.alloc(8);
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK);

  constructor(private readonly hash: Hash) {}

  private write(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.size += bytes.length;
  }

  private writeLength(length: number): void {
    this.lengthBuffer.writeBigUInt64LE(BigInt(length));
    this.write(this.lengthBuffer);
  }

  private pad(length: number): void {
    const rest = length % 8;
    if (rest !== 0) this.write(PADDING.subarray(0, 8 - rest));
  }

  str(value: string | Buffer): void {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.writeLength(bytes.length);
    this.write(bytes);
    this.pad(bytes.length);
  }

  dump(filePath: string | Buffer): void {
    const stat = lstatSync(filePath);
    this.str('(');
    if (stat.isSymbolicLink()) {
      this.str('type');
      this.str('symlink');
      this.str('target');
      this.str(readlinkSync(filePath, { encoding: 'buffer' }));
    } else if (stat.isFile()) {
      this.str('type');
      this.str('regular');
      // Nix looks only at the owner's execute bit.
      if ((stat.mode & 0o100) !== 0) {
        this.str('executable');
        this.str('');
      }
      this.str('contents');
      this.contents(filePath, stat.size);
    } else if (stat.isDirectory()) {
      this.str('type');
      this.str('directory');
      // Nix sorts entries as std::string does: by bytes, never by locale.
      const names = readdirSync(filePath, { encoding: 'buffer' }).sort(Buffer.compare);
      for (const name of names) {
        this.str('entry');
        this.str('(');
        this.str('name');
        this.str(name);
        this.str('node');
        this.dump(Buffer.concat([Buffer.from(filePath), Buffer.from('/'), name]));
        this.str(')');
      }
    } else {
      throw new Error(`cannot serialise ${String(filePath)}: not a regular file, directory or symlink`);
    }
    this.str(')');
  }

  private contents(filePath: string | Buffer, size: number): void {
    this.writeLength(size);
    const fd = openSync(filePath, 'r');
    try {
      let done = 0;
      while (done < size) {
        const read = readSync(fd, this.chunk, 0, Math.min(READ_CHUNK, size - done), null);
        if (read === 0) throw new Error(`${String(filePath)} shrank while it was being hashed`);
        this.write(this.chunk.subarray(0, read));
        done += read;
      }
    } finally {
      closeSync(fd);
    }
    this.pad(size);
  }
}

/** NAR hash and size of any path, registered in the store or not (e.g. a `--check` rebuild's `<out>.check`). */
export function narDigestOfPath(filePath: string): NarDigest {
  const hash = createHash('sha256');
  const writer = new NarWriter(hash);
  writer.str('nix-archive-1');
  writer.dump(path.resolve(filePath));
  return { narHash: formatNarHash(new Uint8Array(hash.digest())), narSize: writer.size };
}
