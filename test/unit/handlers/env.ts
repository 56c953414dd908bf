/** A complete Lambda environment as the hub stack sets it. */
export const LAMBDA_ENV = {
  AWS_REGION: 'eu-west-1',
  AUDIT_SETTINGS: JSON.stringify({ targets: [{ account: '111111111111', region: 'eu-west-1' }] }),
  TABLE_NAME: 'fleet-audit-findings',
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:fleet-audit-alerts',
  AUDIT_ROLE_NAME: 'FleetAuditReadOnly',
  AUDIT_PARTITION: 'aws',
  RETENTION_DAYS: '120',
  RUN_LIST_BUCKET: 'fleet-audit-run-lists',
} as const;
