import { describe, expect, it } from 'vitest';
import { eksClusterArn, partitionOf } from '#audit/arn.js';

describe('cluster ARNs', () => {
  it.each([
    ['eu-west-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('puts %s in partition %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });

  it('writes an EKS cluster ARN in its region’s partition', () => {
    expect(eksClusterArn('111122223333', 'cn-northwest-1', 'prod')).toBe(
      'arn:aws-cn:eks:cn-northwest-1:111122223333:cluster/prod',
    );
  });
});
