import { createHash, type Hash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';
import { formatNarHash, type ListingEntry } from '@lilac/common';
import { ParallelFileHasher, SLOT_BYTES } from './parallelFileHasher.ts';

/** What Nix records for a store path: SHA-256 of its NAR serialisation and that serialisation's length. */
export interface NarDigest {
  /** `sha256:<nix-base32>` */
  readonly narHash: string;
  readonly narSize: number;
}

/**
 * A NAR digest and the file listing seen in the same walk. A listing's paths
 * are text, so a tree with a name or link target that is not UTF-8 has no
 * listing (`entries` null, `problem` says which): the NAR hash stays exact.
 */
export interface NarDigestWithListing extends NarDigest {
  readonly entries: ListingEntry[] | null;
  readonly problem: string | null;
}

const READ_CHUNK = SLOT_BYTES;
const PADDING = Buffer.alloc(8);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Raw bytes as text, or null when they are not UTF-8 (a listing cannot say them). */
function utf8OrNull(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Collects the listing while the walk goes: what each node is, and each file's SHA-256 from the bytes the NAR hash reads. */
class ListingCollector {
  readonly entries: ListingEntry[] = [];
  problem: string | null = null;
  /** Each file's contents go to a second thread to be hashed while the walk goes on. */
  readonly hasher = new ParallelFileHasher();
  /** Indexes in `entries` of the files, in the order their contents went to the hasher. */
  private readonly files: number[] = [];

  /** The path inside the output of `name` under `parent`; null once the listing is given up. */
  child(parent: string | null, name: Buffer): string | null {
    if (parent === null || this.problem !== null) return null;
    const text = utf8OrNull(name);
    if (text === null) {
      this.problem = `the name ${JSON.stringify(name.toString('latin1'))} in ${JSON.stringify(parent)} is not UTF-8`;
      return null;
    }
    return parent === '' ? text : `${parent}/${text}`;
  }

  add(entry: ListingEntry): void {
    if (this.problem === null) this.entries.push(entry);
  }

  /** A file whose contents the walk is about to give the hasher; its digest comes with `finish`. */
  addFile(entryPath: string, type: 'regular' | 'executable', size: number): void {
    this.hasher.startFile();
    this.files.push(this.entries.length);
    this.entries.push({ path: entryPath, type, size, sha256: '' });
  }

  /** The listing with every file's digest, or null when it was given up. */
  finish(): ListingEntry[] | null {
    const digests = this.hasher.finish();
    if (this.problem !== null) return null;
    this.files.forEach((index, file) => {
      this.entries[index] = { ...(this.entries[index] as ListingEntry), sha256: digests[file] as string };
    });
    return this.entries;
  }

  symlink(entryPath: string | null, target: Buffer): void {
    if (entryPath === null || this.problem !== null) return;
    const text = utf8OrNull(target);
    if (text === null) this.problem = `the target of the symlink ${JSON.stringify(entryPath)} is not UTF-8`;
    else this.add({ path: entryPath, type: 'symlink', target: text });
  }
}

/**
 * Feeds the NAR serialisation of a file tree (Nix's `dumpPath`) into a sink
 * without ever holding more than one read chunk: every string is a
 * little-endian u64 length, the bytes, and zero padding to 8 bytes.
 * Names and link targets stay raw bytes so non-UTF-8 names hash as Nix does.
 * With a listing collector, each file's contents also feed a SHA-256 of their
 * own from the same read: the contents are read once.
 */
class NarWriter {
  size = 0;
  private readonly lengthBuffer = Buffer.alloc(8);
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK);

  constructor(
    private readonly hash: Hash,
    private readonly listing: ListingCollector | null,
  ) {}

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

  /** `entryPath`: where `filePath` is inside the output, for the listing; null without one. */
  dump(filePath: string | Buffer, entryPath: string | null): void {
    const stat = lstatSync(filePath);
    this.str('(');
    if (stat.isSymbolicLink()) {
      this.str('type');
      this.str('symlink');
      this.str('target');
      const target = readlinkSync(filePath, { encoding: 'buffer' });
      this.str(target);
      this.listing?.symlink(entryPath, target);
    } else if (stat.isFile()) {
      this.str('type');
      this.str('regular');
      // Nix looks only at the owner's execute bit.
      const executable = (stat.mode & 0o100) !== 0;
      if (executable) {
        this.str('executable');
        this.str('');
      }
      this.str('contents');
      if (this.listing !== null && entryPath !== null) {
        this.listing.addFile(entryPath, executable ? 'executable' : 'regular', stat.size);
        this.contents(filePath, stat.size, this.listing.hasher);
      } else {
        this.contents(filePath, stat.size, null);
      }
    } else if (stat.isDirectory()) {
      this.str('type');
      this.str('directory');
      if (entryPath !== null) this.listing?.add({ path: entryPath, type: 'directory' });
      // Nix sorts entries as std::string does: by bytes, never by locale.
      const names = readdirSync(filePath, { encoding: 'buffer' }).sort(Buffer.compare);
      for (const name of names) {
        this.str('entry');
        this.str('(');
        this.str('name');
        this.str(name);
        this.str('node');
        this.dump(Buffer.concat([Buffer.from(filePath), Buffer.from('/'), name]), this.listing?.child(entryPath, name) ?? null);
        this.str(')');
      }
    } else {
      throw new Error(`cannot serialise ${String(filePath)}: not a regular file, directory or symlink`);
    }
    this.str(')');
  }

  /** Streams a file's contents into the NAR hash; with a hasher, each chunk is read into its ring and handed to it too. */
  private contents(filePath: string | Buffer, size: number, hasher: ParallelFileHasher | null): void {
    this.writeLength(size);
    const fd = openSync(filePath, 'r');
    try {
      let done = 0;
      do {
        const chunk = hasher === null ? this.chunk : hasher.nextChunk();
        const read = size === done ? 0 : readSync(fd, chunk, 0, Math.min(READ_CHUNK, size - done), null);
        if (read === 0 && done < size) throw new Error(`${String(filePath)} shrank while it was being hashed`);
        this.write(chunk.subarray(0, read));
        done += read;
        hasher?.commit(read, done === size);
      } while (done < size);
    } finally {
      closeSync(fd);
    }
    this.pad(size);
  }
}

function walk(filePath: string, listing: ListingCollector | null): NarDigest {
  const hash = createHash('sha256');
  const writer = new NarWriter(hash, listing);
  writer.str('nix-archive-1');
  writer.dump(path.resolve(filePath), '');
  return { narHash: formatNarHash(new Uint8Array(hash.digest())), narSize: writer.size };
}

/** NAR hash and size of any path, registered in the store or not (e.g. a `--check` rebuild's `<out>.check`). */
export function narDigestOfPath(filePath: string): NarDigest {
  return walk(filePath, null);
}

/** NAR hash, size and file listing (in NAR order) of a path, in one walk that reads every file once. */
export function narDigestAndListingOfPath(filePath: string): NarDigestWithListing {
  const listing = new ListingCollector();
  let digest: NarDigest;
  try {
    digest = walk(filePath, listing);
  } catch (error) {
    listing.hasher.abandon();
    throw error;
  }
  const entries = listing.finish();
  return { ...digest, entries, problem: listing.problem };
}
