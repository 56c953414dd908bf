import { createHash } from 'node:crypto';
import { ApiError, type SimRequest, type SimResponse, xmlEscape } from './wire.js';

/**
 * S3 over its REST-XML protocol, path-style (`PUT|GET /<bucket>/<key>`, the form the SDK uses with
 * `forcePathStyle`), for the two calls the auditor makes: PutObject and GetObject
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, API_GetObject.html). Errors are the
 * `<Error><Code>…</Code><Message>…</Message>…</Error>` document of
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html, with its codes and statuses (NoSuchKey and
 * NoSuchBucket 404, AccessDenied 403).
 */

interface StoredObject {
  body: string;
  contentType: string;
  etag: string;
  lastModified: Date;
}

/** The simulated buckets, each owned by one account; only the owner may read or write it (no bucket policies). */
export class SimBuckets {
  readonly #buckets = new Map<string, { account: string; objects: Map<string, StoredObject> }>();

  constructor(private readonly now: () => number) {}

  /** Creates an empty bucket (CloudFormation's part in AWS). */
  create(name: string, account: string): void {
    if (!this.#buckets.has(name)) this.#buckets.set(name, { account, objects: new Map() });
  }

  /** The body of an object, or undefined (for tests). */
  read(bucket: string, key: string): string | undefined {
    return this.#buckets.get(bucket)?.objects.get(key)?.body;
  }

  handle(request: SimRequest, account: string): SimResponse {
    const { bucket, key } = s3Target(request);
    const owned = this.#buckets.get(bucket);
    if (!owned) throw new ApiError(404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (owned.account !== account) throw new ApiError(403, 'AccessDenied', 'Access Denied');
    if (key === '') throw new ApiError(501, 'NotImplemented', 'Only object operations are simulated');
    if (request.method === 'PUT') {
      if (/aws-chunked/.test(String(request.headers['content-encoding'] ?? ''))) {
        throw new ApiError(501, 'NotImplemented', 'aws-chunked uploads are not simulated');
      }
      const etag = `"${createHash('md5').update(request.body).digest('hex')}"`;
      const contentType = String(request.headers['content-type'] ?? 'binary/octet-stream');
      owned.objects.set(key, { body: request.body, contentType, etag, lastModified: new Date(this.now()) });
      return { status: 200, headers: { etag }, body: '' };
    }
    if (request.method === 'GET') {
      const object = owned.objects.get(key);
      if (!object) throw new ApiError(404, 'NoSuchKey', 'The specified key does not exist.');
      return {
        status: 200,
        headers: {
          'content-type': object.contentType,
          etag: object.etag,
          'last-modified': object.lastModified.toUTCString(),
        },
        body: object.body,
      };
    }
    throw new ApiError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
}

/** The operation of a path-style S3 request: PUT an object is PutObject, GET one GetObject. */
export function s3Action(request: SimRequest): string {
  const { key } = s3Target(request);
  if (key !== '' && request.method === 'PUT') return 'PutObject';
  if (key !== '' && request.method === 'GET') return 'GetObject';
  return `${request.method} ${request.path}`;
}

/** Bucket and key of a path-style request (`/<bucket>/<key>`, each path segment URI-encoded). */
export function s3Target(request: Pick<SimRequest, 'path'>): { bucket: string; key: string } {
  const [bucket = '', ...rest] = request.path.replace(/^\//, '').split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/') };
}

export function s3Error(error: ApiError, requestId: string): SimResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code>` +
    `<Message>${xmlEscape(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
  return { status: error.status, headers: { 'content-type': 'application/xml' }, body };
}
