import type { Organization, Scenario } from '../scenario.js';
import { ApiError, encodeToken, paginate, type SimResponse, xmlEscape } from './wire.js';

/**
 * AWS Organizations (awsJson1_1, `X-Amz-Target: AWSOrganizationsV20161128.<Action>`) and STS AssumeRole (awsQuery,
 * `Action=AssumeRole&Version=2011-06-15`), the two services the plan step needs to audit an organization.
 */

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
export const ORGANIZATIONS_TARGET_PREFIX = 'AWSOrganizationsV20161128.';
export const STS_VERSION = '2011-06-15';
/** ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent: MaxResults 1–20 (API reference). */
const PAGE_LIMITS = { min: 1, max: 20, default: 20 };

const invalidInput = (message: string) => new ApiError(400, 'InvalidInputException', message);

/**
 * One Organizations call from `account`. Only the management account and delegated administrators may call
 * (each List operation's API reference); another account of the organization is denied.
 */
export function handleOrganizations(
  action: string,
  body: Record<string, unknown>,
  account: string,
  organization: Organization | undefined,
  cap: number | undefined,
): SimResponse {
  if (!organization || !callerMayList(organization, account)) {
    if (!organization?.members.some((m) => m.id === account)) {
      throw new ApiError(400, 'AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
    }
    throw new ApiError(400, 'AccessDeniedException', 'You don’t have permissions to access this resource.');
  }
  const nextToken = typeof body.NextToken === 'string' ? body.NextToken : undefined;
  const maxResults = typeof body.MaxResults === 'number' ? body.MaxResults : undefined;
  const page = <T>(items: ReadonlyArray<T>) => {
    // "can occasionally return an empty set of results even when more results are available"
    if (organization.emptyFirstPages && nextToken === undefined && items.length > 0) {
      return { page: [] as T[], nextToken: encodeToken(0) };
    }
    return paginate(items, { maxResults, nextToken, limits: PAGE_LIMITS, cap }, invalidInput);
  };
  const parentOf = (): string => {
    const parent = typeof body.ParentId === 'string' ? body.ParentId : '';
    if (parent === '') throw invalidInput('You provided a value that does not match the required pattern.');
    if (parent !== organization.rootId && !organization.units.some((u) => u.id === parent)) {
      throw new ApiError(
        400,
        'ParentNotFoundException',
        'We can’t find a root or OU with the ParentId that you specified.',
      );
    }
    return parent;
  };
  switch (action) {
    case 'ListAccounts': {
      const { page: accounts, nextToken: next } = page(organization.members);
      return ok({ Accounts: accounts.map((m) => accountShape(organization, m)), ...(next && { NextToken: next }) });
    }
    case 'ListAccountsForParent': {
      const parent = parentOf();
      const { page: accounts, nextToken: next } = page(organization.members.filter((m) => m.parent === parent));
      return ok({ Accounts: accounts.map((m) => accountShape(organization, m)), ...(next && { NextToken: next }) });
    }
    case 'ListOrganizationalUnitsForParent': {
      const parent = parentOf();
      const { page: units, nextToken: next } = page(organization.units.filter((u) => u.parent === parent));
      return ok({
        OrganizationalUnits: units.map((u) => ({
          Id: u.id,
          Arn: `arn:aws:organizations::${organization.managementAccount}:ou/${organization.id}/${u.id}`,
          Name: u.name,
        })),
        ...(next && { NextToken: next }),
      });
    }
    default:
      throw new ApiError(400, 'UnknownOperationException', `${action} is not simulated`);
  }
}

function callerMayList(organization: Organization, account: string): boolean {
  return account === organization.managementAccount || organization.delegatedAdministrators.includes(account);
}

function accountShape(organization: Organization, member: Organization['members'][number]) {
  // Status is being retired; it only ever held ACTIVE, SUSPENDED or PENDING_CLOSURE
  const status = ['ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE'].includes(member.state) ? member.state : undefined;
  return {
    Id: member.id,
    Arn: `arn:aws:organizations::${organization.managementAccount}:account/${organization.id}/${member.id}`,
    Email: `aws+${member.id}@example.com`,
    Name: member.name,
    State: member.state,
    ...(status && { Status: status }),
    JoinedMethod: 'CREATED',
    JoinedTimestamp: 1_735_689_600,
  };
}

function ok(value: unknown): SimResponse {
  return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: JSON.stringify(value) };
}

/** The accounts a role may be assumed in, and the roles in each (scenario accounts' `roles`, the management roles). */
export function assumableRoles(scenario: Scenario): Map<string, Set<string>> {
  const roles = new Map<string, Set<string>>();
  const add = (account: string, names: ReadonlyArray<string>) =>
    roles.set(account, new Set([...(roles.get(account) ?? []), ...names]));
  for (const account of scenario.accounts) add(account.id, account.roles);
  if (scenario.organization) add(scenario.organization.managementAccount, scenario.organization.managementRoles);
  return roles;
}

/**
 * STS AssumeRole. The role must exist (trust policies are not evaluated here: the IAM proof does that, test/iam/);
 * a role that does not exist is AccessDenied, as STS answers then. The credentials' access key id is the role's
 * account and the session token the caller's own, so calls made with them are told apart and attributed as all
 * others (lambda/aws/clients.ts simulatorCredentials).
 */
export function handleSts(
  params: URLSearchParams,
  caller: { account: string; token: string | null },
  roles: ReadonlyMap<string, ReadonlySet<string>>,
  now: number,
  requestId: string,
): SimResponse {
  const action = params.get('Action');
  if (action === 'GetCallerIdentity') return callerIdentity(caller.account, requestId);
  if (action !== 'AssumeRole') {
    throw new ApiError(
      400,
      'InvalidAction',
      `Could not find operation ${action ?? '(none)'} for version ${STS_VERSION}`,
    );
  }
  const roleArn = params.get('RoleArn') ?? '';
  const session = params.get('RoleSessionName') ?? '';
  const match = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(roleArn);
  if (!match?.[1] || !match[2] || session === '') {
    throw new ApiError(
      400,
      'ValidationError',
      `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint`,
    );
  }
  const [, account, name] = match;
  if (!roles.get(account)?.has(name)) {
    throw new ApiError(
      403,
      'AccessDenied',
      `User: arn:aws:sts::${caller.account}:assumed-role/${caller.token ?? 'caller'}/session is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    );
  }
  const seconds = Number(params.get('DurationSeconds') ?? 3600);
  const expiration = new Date(now + seconds * 1000).toISOString();
  const body =
    `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/${STS_VERSION}/"><AssumeRoleResult>` +
    `<AssumedRoleUser><AssumedRoleId>AROASIMULATED:${xmlEscape(session)}</AssumedRoleId>` +
    `<Arn>arn:aws:sts::${account}:assumed-role/${xmlEscape(name)}/${xmlEscape(session)}</Arn></AssumedRoleUser>` +
    `<Credentials><AccessKeyId>${account}</AccessKeyId><SecretAccessKey>simulated-secret</SecretAccessKey>` +
    `<SessionToken>${xmlEscape(caller.token ?? '')}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
    `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
  return { status: 200, headers: { 'content-type': 'text/xml' }, body };
}

export function stsError(error: ApiError, requestId: string): SimResponse {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  const body =
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/${STS_VERSION}/"><Error><Type>${type}</Type>` +
    `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { 'content-type': 'text/xml' }, body };
}

/**
 * STS GetCallerIdentity: the account is the caller's access key id, as the simulator tells accounts apart
 * (lambda/aws/clients.ts). The CLI asks it before commands that act on the caller's own account (Security Hub
 * imports).
 */
function callerIdentity(account: string, requestId: string): SimResponse {
  const body =
    `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/${STS_VERSION}/"><GetCallerIdentityResult>` +
    `<Arn>arn:aws:iam::${account}:user/simulated</Arn><UserId>AIDASIMULATED${account}</UserId>` +
    `<Account>${account}</Account></GetCallerIdentityResult>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
  return { status: 200, headers: { 'content-type': 'text/xml' }, body };
}
