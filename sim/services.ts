/** The AWS services the simulator answers (server.ts routes each by its wire protocol). */
export const SIM_SERVICES = [
  'eks',
  'ec2',
  'ssm',
  'logs',
  'sns',
  'secretsmanager',
  'securityhub',
  'organizations',
  'sts',
  's3',
] as const;
export type SimService = (typeof SIM_SERVICES)[number];

/** What a scenario fault may name: the simulator's services and DynamoDB (the store's proxy in front of dynalite). */
export const FAULT_SERVICES = [...SIM_SERVICES, 'dynamodb'] as const;
