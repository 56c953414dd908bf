import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { simulatorCredentials } from '#aws/clients.js';
import { sdkClientConfig } from '#aws/sdk-config.js';

/**
 * What a Distributed Map's ItemReader needs from S3: GetObject of the items' JSON, made with the state machine's role
 * (the service reads the object on the execution's behalf, so the request is the role's).
 */
export interface ObjectReader {
  /** The object's body; rejects when S3 refuses (no such key or bucket, access denied). */
  getObject(bucket: string, key: string): Promise<string>;
}

/**
 * S3 through the real SDK against the simulator (sim/protocols/s3-rest-xml.ts), as the state machine: its calls are
 * recorded with the caller `stateMachine` in the hub's account, like the functions' calls are with theirs.
 */
export function simulatorObjectReader(options: { endpoint: string; account: string; region: string }): ObjectReader {
  const s3 = new S3Client({
    ...sdkClientConfig({
      region: options.region,
      endpoint: options.endpoint,
      credentials: simulatorCredentials(options.account, 'stateMachine'),
    }),
    forcePathStyle: true,
  });
  return {
    async getObject(bucket, key) {
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Body ? Body.transformToString('utf8') : '';
    },
  };
}
