/** AWS partitions the product runs in. */
export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

/**
 * The partition a region belongs to: `cn-*` regions are in aws-cn, `us-gov-*` in aws-us-gov, the rest in aws
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html, "partition").
 */
export function partitionOf(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** An EKS cluster's ARN: `arn:<partition>:eks:<region>:<account>:cluster/<name>`. */
export function eksClusterArn(account: string, region: string, name: string): string {
  return `arn:${partitionOf(region)}:eks:${region}:${account}:cluster/${name}`;
}
