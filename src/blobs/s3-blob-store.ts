import fs from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertBlobKey,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type DirectUrlHeaders,
  isBlobKey,
} from './blob-store.ts';
import { discardFile } from './staged-file.ts';
import type { StagingDir } from './staging-dir.ts';

/** Where the bucket is and how to reach it; credentials come from the SDK's usual sources when absent. */
export interface S3Location {
  bucket: string;
  /** Prepended to every key (`gazo/` keeps Gazo's objects apart in a shared bucket); may be empty. */
  prefix: string;
  region: string;
  /** A non-AWS endpoint (MinIO, Garage, a test server); AWS when absent. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface S3BlobStoreOptions {
  /** Uploads are staged here, on local disk, before they go to the bucket. */
  staging: StagingDir;
  /** Objects larger than this go up in parts of this size (S3's minimum part is 5 MiB). */
  partSize?: number;
  /** Parts in flight at once for one object: memory is at most this many parts. */
  partsInFlight?: number;
  /** Keys per list request (1000 is S3's maximum; tests use fewer to page). */
  listPageSize?: number;
  /** Hand out presigned GET URLs valid this long (seconds); none when absent. */
  presignSeconds?: number;
}

const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

export function s3Client(location: S3Location): S3Client {
  const config: S3ClientConfig = {
    region: location.region,
    // Path-style (`endpoint/bucket/key`): what MinIO, Garage and test servers answer without DNS tricks.
    forcePathStyle: true,
    // The SDK's default adds CRC checksums with aws-chunked bodies, which S3-compatible servers
    // (s3rver among them) store framing and all: send and check them only where S3 requires.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (location.endpoint) config.endpoint = location.endpoint;
  if (location.credentials) config.credentials = location.credentials;
  return new S3Client(config);
}

/** Blobs as objects in an S3-compatible bucket, under `prefix` + the blob key. */
export class S3BlobStore implements BlobStore {
  private readonly partSize: number;
  /** A staged file is read and sent, then removed: an fsync of it would be wasted. */
  readonly stagedFilesBecomeBlobs = false;

  constructor(
    private readonly client: S3Client,
    private readonly location: Pick<S3Location, 'bucket' | 'prefix'>,
    private readonly options: S3BlobStoreOptions,
  ) {
    this.partSize = Math.max(5 * 1024 * 1024, options.partSize ?? MULTIPART_PART_BYTES);
  }

  private object(key: string) {
    assertBlobKey(key);
    return { Bucket: this.location.bucket, Key: this.location.prefix + key };
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ ...this.object(key), Body: data, ContentLength: data.length }),
    );
  }

  async putFile(key: string, file: string): Promise<void> {
    try {
      await this.putStream(key, fs.createReadStream(file));
    } finally {
      await discardFile(file);
    }
  }

  /**
   * One PUT for a small body; a multipart upload, `partSize` at a time, for a large one. S3
   * shows an object only once its upload completes, so a failed put leaves no object; its parts
   * are aborted (and a bucket lifecycle rule cleans up after a process killed mid-upload).
   */
  async putStream(key: string, source: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { ...this.object(key), Body: source },
      partSize: this.partSize,
      queueSize: this.options.partsInFlight ?? 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } finally {
      // A body the upload stopped reading (a failed part) must not keep its file open.
      source.destroy();
    }
  }

  stagingPath(): Promise<string> {
    return this.options.staging.path();
  }

  /** A bucket has no free space to speak of; the staging disk fails with ENOSPC if it fills. */
  freeBytes(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async read(key: string): Promise<Buffer | undefined> {
    const body = await this.stream(key);
    if (!body) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async stream(key: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          ...this.object(key),
          ...(range && { Range: `bytes=${range.start}-${range.end}` }),
        }),
      );
      const body = answer.Body as Readable;
      if (!range) return body;
      // What came back may be more than was asked: HTTP lets a server ignore a Range (a 200 with
      // everything), and s3rver widens `bytes=0-0` to the whole object. Cut it to the range asked.
      const from = /^bytes (\d+)-/.exec(answer.ContentRange ?? '')?.[1];
      const skip = range.start - (from === undefined ? 0 : Number(from));
      // pipeline, not pipe: a failure of the body must reach whoever reads the window.
      return pipeline(body, byteWindow(skip, range.end - range.start + 1), () => {});
    } catch (err) {
      return undefinedIfMissing(err);
    }
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand(this.object(key)));
      return { size: head.ContentLength ?? 0, etag: head.ETag ?? '' };
    } catch (err) {
      return undefinedIfMissing(err);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async withLocalFile<T>(key: string, use: (file: string) => Promise<T>): Promise<T | undefined> {
    const body = await this.stream(key);
    if (!body) return undefined;
    const file = await this.stagingPath();
    try {
      await pump(body, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
      return await use(file);
    } finally {
      await discardFile(file);
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers a delete of a missing key with success.
    await this.client.send(new DeleteObjectCommand(this.object(key)));
  }

  async *list(): AsyncIterable<string> {
    const { bucket, prefix } = this.location;
    for (const top of ['orig/', 'thumb/']) {
      let token: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix + top,
            ContinuationToken: token,
            MaxKeys: this.options.listPageSize ?? 1000,
          }),
        );
        for (const object of page.Contents ?? []) {
          const key = object.Key?.slice(prefix.length);
          // Only what Gazo stores: a sweep must never judge another tool's objects in a shared bucket.
          if (key && isBlobKey(key)) yield key;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
  }

  async sweepIncomplete(): Promise<void> {
    await this.options.staging.sweep();
  }

  async directUrl(key: string, headers: DirectUrlHeaders): Promise<string | undefined> {
    const expiresIn = this.options.presignSeconds;
    if (!expiresIn) return undefined;
    const command = new GetObjectCommand({
      ...this.object(key),
      ResponseContentType: headers.contentType,
      ResponseCacheControl: headers.cacheControl,
      ResponseContentDisposition: headers.contentDisposition,
    });
    return getSignedUrl(this.client, command, { expiresIn });
  }
}

/** Passes `length` bytes after the first `skip`, then ends. */
function byteWindow(skip: number, length: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(0, skip - seen);
      const to = Math.min(chunk.length, skip + length - seen);
      seen += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

function undefinedIfMissing(err: unknown): undefined {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 404) return undefined;
  throw err;
}
