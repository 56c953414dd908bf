import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: esbuild's project root and the home of package-lock.json. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The absolute path of a Lambda handler entry, e.g. `handlerEntry('plan')` → lambda/handlers/plan.ts. */
export function handlerEntry(name: string): string {
  return fileURLToPath(new URL(`../../lambda/handlers/${name}.ts`, import.meta.url));
}

/**
 * The ESM bundle needs `require` for the few CommonJS dependencies esbuild leaves as `require()` calls
 * (Node built-ins pulled in by the SDK's CommonJS builds).
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

/** The powertools service name: the `service` dimension of every metric and the `service` key of every log line. */
export const SERVICE_NAME = 'eks-fleet-auditor';
/** The CloudWatch namespace of the run metrics (lambda/handlers/observability.ts emits them). */
export const METRICS_NAMESPACE = 'FleetAudit';

export interface AuditFunctionProps {
  /** Absolute path of the handler module (see {@link handlerEntry}). */
  readonly entry: string;
  /** What the function does, for the console. */
  readonly description: string;
  /** Environment variables besides the ones every function gets. @default none */
  readonly environment?: Record<string, string>;
  /**
   * A fixed name for the function's role, for roles that member accounts trust by ARN.
   * @default a generated name
   */
  readonly roleName?: string;
  /** @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Retention of the function's log group. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One of the audit's Lambda functions with the project's defaults: Node.js 24 on arm64 (Graviton: cheaper per
 * GB-second; the code has no native modules), an ESM bundle built by the local esbuild (no Docker), minified with
 * a source map, its own log group with a retention, and its own role that can write only to that log group.
 *
 * The AWS SDK is bundled (`bundleAwsSDK: true`): the functions then run the SDK versions the tests ran (the
 * runtime's preinstalled SDK changes without notice and lags `@aws-sdk/lib-dynamodb` and the credential
 * providers), at the price of a larger bundle (about 1.5 MB) and a slightly slower cold start, which nightly
 * batch functions can afford. X-Ray tracing is off: the handlers carry no tracer, so an active trace would only
 * repeat what the state machine's execution history already records.
 */
export class AuditFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (Lambda execution role)`,
      ...(props.roleName !== undefined && { roleName: props.roleName }),
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): write to this function's group only.
    this.logGroup.grantWrite(this.role);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(5),
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        bundleAwsSDK: true,
      },
    });
    // The role's policy must exist before the function can log its first invocation.
    this.function.node.addDependency(this.role);
  }
}
