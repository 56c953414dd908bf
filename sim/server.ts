import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callerOf } from './call-log.js';
import { Fleet, type PublishedMessage } from './fleet.js';
import { ec2Error, handleEc2 } from './protocols/ec2-query.js';
import {
  handleLogs,
  handleSecretsManager,
  handleSsm,
  jsonError,
  jsonRpcTarget,
  parseJsonBody,
} from './protocols/json-rpc.js';
import {
  assumableRoles,
  handleOrganizations,
  handleSts,
  ORGANIZATIONS_TARGET_PREFIX,
  STS_VERSION,
  stsError,
} from './protocols/organizations.js';
import { eksError, eksRoute, handleEks } from './protocols/rest-json.js';
import { SimBuckets, s3Action, s3Error, s3Target } from './protocols/s3-rest-xml.js';
import { handleSecurityHub, securityHubRoute } from './protocols/security-hub.js';
import { handleSns, snsError } from './protocols/sns-query.js';
import { ApiError, type SimRequest, type SimResponse } from './protocols/wire.js';
import { faultFires } from './random.js';
import type { Fault, Scenario } from './scenario.js';
import type { SimService } from './services.js';
import { scenarioClocks } from './states/clock.js';

/**
 * The simulated AWS endpoint: one loopback HTTP server that answers EKS (restJson1), EC2 (ec2Query), SSM,
 * CloudWatch Logs, Secrets Manager and Organizations (awsJson1_1), SNS and STS (awsQuery) and S3 (REST-XML,
 * path-style: the hub's run-list bucket) the way the real services do on the wire, from a scenario.
 *
 * Callers are told apart by their SigV4 credentials: the access key id is the account id (see
 * lambda/aws/clients.ts) and the credential scope names the region. Signatures are not checked. The server only
 * ever listens on 127.0.0.1.
 */

export type { SimService };

/** One request the simulator answered. */
export interface SimulatedCall {
  service: SimService;
  action: string;
  /** the function that made it (the session token, see lambda/aws/clients.ts); null: none said */
  caller: string | null;
  /** the request's parameters as the service read them (sim/call-log.ts turns them into IAM requests) */
  input: Record<string, unknown>;
  /** from the access key id; null when the request carried none */
  account: string | null;
  region: string | null;
  status: number;
  /** the fault injected on this call, if any */
  fault: InjectedFault | null;
  /** logs:StartQuery only: the query id answered */
  queryId?: string;
}

/** What the simulator can do to one call instead of answering it. */
export type InjectedFault = 'throttle' | 'serverError' | 'reset' | 'garbage';

export interface SimulatorOptions {
  /** overrides the scenario's timeScale (real time = simulated time × timeScale) */
  timeScale?: number;
  /** overrides the scenario's seed for run-time randomness (ids, timings, faults); node ids stay the scenario's */
  seed?: number;
  /** AWS's clock, epoch ms; default the scenario's `clock` (tests may pass a controllable one) */
  now?: () => number;
  /** append each published SNS message to this file as one JSON line */
  outboxFile?: string;
  /** S3 buckets that exist, each with its owner account (the hub stack's run-list bucket) */
  buckets?: ReadonlyArray<{ name: string; account: string }>;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** every request answered, in order */
  calls: SimulatedCall[];
  /** every SNS message published, in order */
  outbox: PublishedMessage[];
  /** the accounts and regions of the scenario: what to audit */
  targets: Array<{ account: string; region: string }>;
  /** ARNs of the scenario's SNS topics */
  topicArns: string[];
  /** the auditor's clock for this scenario (deps.now): AWS's clock plus the scenario's clock skew */
  auditorNow: () => Date;
  fleet: Fleet;
  /** the simulated S3 buckets and their objects */
  buckets: SimBuckets;
  close(): Promise<void>;
}

/** Errors the simulator injects, in each service's own spelling (the SDK retries all of them). */
const INJECTED: Record<SimService, { throttle: ApiError; serverError: ApiError }> = {
  eks: {
    throttle: new ApiError(429, 'ThrottlingException', 'Rate exceeded'),
    serverError: new ApiError(500, 'ServerException', 'We encountered an internal error. Please try again.'),
  },
  ec2: {
    throttle: new ApiError(503, 'RequestLimitExceeded', 'Request limit exceeded.'),
    serverError: new ApiError(500, 'InternalError', 'An internal error has occurred.'),
  },
  ssm: {
    throttle: new ApiError(400, 'ThrottlingException', 'Rate exceeded'),
    serverError: new ApiError(500, 'InternalServerError', 'Internal server error.'),
  },
  logs: {
    throttle: new ApiError(400, 'ThrottlingException', 'Rate exceeded'),
    serverError: new ApiError(500, 'ServiceUnavailableException', 'The service cannot complete the request.'),
  },
  sns: {
    throttle: new ApiError(400, 'Throttling', 'Rate exceeded'),
    serverError: new ApiError(500, 'InternalError', 'An internal service error has occurred.'),
  },
  // API_GetSecretValue lists InternalServiceError (500); throttling is the SDK's generic ThrottlingException
  secretsmanager: {
    throttle: new ApiError(400, 'ThrottlingException', 'Rate exceeded'),
    serverError: new ApiError(500, 'InternalServiceError', 'An error occurred on the server side.'),
  },
  // the Organizations API reference lists TooManyRequestsException and ServiceException
  organizations: {
    throttle: new ApiError(
      400,
      'TooManyRequestsException',
      'You have sent too many requests in too short a period of time.',
    ),
    serverError: new ApiError(
      500,
      'ServiceException',
      'Organizations can’t complete your request because of an internal service error.',
    ),
  },
  sts: {
    throttle: new ApiError(400, 'Throttling', 'Rate exceeded'),
    serverError: new ApiError(500, 'InternalFailure', 'The request processing has failed because of an unknown error.'),
  },
  // ErrorResponses.html: SlowDown (503) and InternalError (500)
  s3: {
    throttle: new ApiError(503, 'SlowDown', 'Please reduce your request rate.'),
    serverError: new ApiError(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  },
  // API_BatchImportFindings: LimitExceededException (429) and InternalException (500)
  securityhub: {
    throttle: new ApiError(429, 'LimitExceededException', 'Rate exceeded'),
    serverError: new ApiError(500, 'InternalException', 'Internal service failure.'),
  },
};

/** Unknown access key ids, in each service's own spelling. */
const UNKNOWN_ACCOUNT: Record<SimService, ApiError> = {
  eks: new ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
  ec2: new ApiError(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials'),
  ssm: new ApiError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
  logs: new ApiError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
  sns: new ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
  secretsmanager: new ApiError(
    400,
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
  ),
  securityhub: new ApiError(
    403,
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
  ),
  organizations: new ApiError(
    400,
    'UnrecognizedClientException',
    'The security token included in the request is invalid.',
  ),
  sts: new ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
  s3: new ApiError(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'),
};

/** Starts the simulator on 127.0.0.1 and an ephemeral port. */
export async function startSimulator(scenario: Scenario, options: SimulatorOptions = {}): Promise<Simulator> {
  const clocks = scenarioClocks(scenario.clock, options.now);
  const fleet = new Fleet(scenario, {
    now: clocks.aws,
    timeScale: options.timeScale ?? scenario.timeScale,
    seed: options.seed ?? scenario.seed,
    ...(options.outboxFile !== undefined && { outboxFile: options.outboxFile }),
  });
  const calls: SimulatedCall[] = [];
  const faults = new FaultInjector(scenario.faults, fleet);
  const buckets = new SimBuckets(clocks.aws);
  for (const bucket of options.buckets ?? []) buckets.create(bucket.name, bucket.account);
  const organizationCallers = new Set(
    scenario.organization
      ? [scenario.organization.managementAccount, ...scenario.organization.delegatedAdministrators]
      : [],
  );
  const context: ServerContext = {
    fleet,
    faults,
    calls,
    scenario,
    buckets,
    roles: assumableRoles(scenario),
    knownAccount: (account) => fleet.hasAccount(account) || organizationCallers.has(account),
  };
  const server = createServer((req, res) => {
    handle(req, res, context).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`simulator failure: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    outbox: fleet.outbox,
    targets: fleet.targets(),
    topicArns: fleet.topicArns(),
    auditorNow: clocks.auditor,
    fleet,
    buckets,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface ServerContext {
  fleet: Fleet;
  faults: FaultInjector;
  calls: SimulatedCall[];
  scenario: Scenario;
  buckets: SimBuckets;
  /** the roles STS may assume, by account */
  roles: ReadonlyMap<string, ReadonlySet<string>>;
  /** an access key id the simulator answers: a scenario account, or the organization's management or delegated one */
  knownAccount: (account: string) => boolean;
}

async function handle(req: IncomingMessage, res: ServerResponse, context: ServerContext): Promise<void> {
  const { fleet, faults, calls } = context;
  const request = await readRequest(req);
  const requestId = randomUUID();
  const identity = parseIdentity(request.headers.authorization);
  const operation = identifyOperation(request);
  if (!operation) {
    send(
      res,
      { status: 400, headers: { 'content-type': 'text/plain' }, body: 'not an AWS request the simulator serves' },
      requestId,
    );
    return;
  }
  const { service, action } = operation;
  const call: SimulatedCall = {
    service,
    action,
    caller: callerOf(request.headers),
    input: requestInput(service, request),
    account: identity?.account ?? null,
    region: identity?.region ?? null,
    status: 200,
    fault: null,
  };
  calls.push(call);
  let response: SimResponse;
  try {
    if (!identity || !context.knownAccount(identity.account)) throw UNKNOWN_ACCOUNT[service];
    const region = fleet.region(identity.account, identity.region);
    const injected = await faults.apply({
      service,
      action,
      account: identity.account,
      region: identity.region,
      clusters: () => region.clustersOfCall(service, call.input),
    });
    call.fault = injected;
    if (injected === 'garbage') {
      call.status = 200;
      send(res, GARBAGE, requestId);
      return;
    }
    if (injected === 'throttle' || injected === 'serverError') throw INJECTED[service][injected];
    response =
      service === 'organizations'
        ? handleOrganizations(
            action,
            parseJsonBody(request.body),
            identity.account,
            context.scenario.organization,
            context.scenario.maxPageSize[`organizations:${action}`],
          )
        : service === 'sts'
          ? handleSts(
              new URLSearchParams(request.body),
              { account: identity.account, token: call.caller },
              context.roles,
              fleet.now(),
              requestId,
            )
          : service === 's3'
            ? context.buckets.handle(request, identity.account)
            : dispatch(service, action, request, region, requestId);
    if (service === 'logs' && action === 'StartQuery') call.queryId = String(JSON.parse(response.body).queryId);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    response = errorResponse(service, error, requestId);
  }
  call.status = response.status;
  // the call was carried out (a SendCommand ran, a query started); only its answer is lost on the way
  if (call.fault === 'reset') resetMidResponse(res, response, requestId);
  else send(res, response, requestId);
}

function dispatch(
  service: Exclude<SimService, 'organizations' | 'sts' | 's3'>,
  action: string,
  request: SimRequest,
  region: ReturnType<Fleet['region']>,
  requestId: string,
): SimResponse {
  switch (service) {
    case 'eks':
      return handleEks(request, region);
    case 'ec2':
      return handleEc2(new URLSearchParams(request.body), region, requestId);
    case 'sns':
      return handleSns(new URLSearchParams(request.body), region, requestId);
    case 'ssm':
      return handleSsm(action, parseJsonBody(request.body), region);
    case 'logs':
      return handleLogs(action, parseJsonBody(request.body), region);
    case 'secretsmanager':
      return handleSecretsManager(action, parseJsonBody(request.body), region);
    case 'securityhub':
      return handleSecurityHub(request, region);
  }
}

function errorResponse(service: SimService, error: ApiError, requestId: string): SimResponse {
  switch (service) {
    case 'eks':
    case 'securityhub':
      return eksError(error);
    case 'ec2':
      return ec2Error(error, requestId);
    case 'sns':
      return snsError(error, requestId);
    case 'sts':
      return stsError(error, requestId);
    case 's3':
      return s3Error(error, requestId);
    case 'ssm':
    case 'logs':
    case 'secretsmanager':
    case 'organizations':
      return jsonError(error);
  }
}

/** Which service and action a request is, from its shape (target header, path, or form Action + Version). */
function identifyOperation(request: SimRequest): { service: SimService; action: string } | null {
  // S3's REST paths (/<bucket>/<key>) say nothing of the service; its SigV4 credential scope does.
  if (signingService(request.headers.authorization) === 's3') return { service: 's3', action: s3Action(request) };
  const target = header(request.headers, 'x-amz-target');
  const rpc = jsonRpcTarget(target);
  if (rpc) return rpc;
  if (target?.startsWith(ORGANIZATIONS_TARGET_PREFIX)) {
    return { service: 'organizations', action: target.slice(ORGANIZATIONS_TARGET_PREFIX.length) };
  }
  const route = eksRoute(request);
  if (route) return { service: 'eks', action: route.action };
  const hub = securityHubRoute(request);
  if (hub) return { service: 'securityhub', action: hub };
  if (request.method === 'POST') {
    const params = new URLSearchParams(request.body);
    const action = params.get('Action');
    if (action !== null && params.get('Version') === '2016-11-15') return { service: 'ec2', action };
    if (action !== null && params.get('Version') === '2010-03-31') return { service: 'sns', action };
    if (action !== null && params.get('Version') === STS_VERSION) return { service: 'sts', action };
  }
  if (request.path.startsWith('/clusters')) return { service: 'eks', action: `${request.method} ${request.path}` };
  return null;
}

/** The parameters of a request, whatever its protocol: the JSON body, the form fields, or the EKS route. */
function requestInput(service: SimService, request: SimRequest): Record<string, unknown> {
  if (
    service === 'ssm' ||
    service === 'logs' ||
    service === 'secretsmanager' ||
    service === 'securityhub' ||
    service === 'organizations'
  ) {
    try {
      return parseJsonBody(request.body);
    } catch {
      return {};
    }
  }
  if (service === 'eks') return { ...(eksRoute(request) ?? {}) };
  if (service === 's3') {
    const { bucket, key } = s3Target(request);
    return { Bucket: bucket, Key: key };
  }
  return Object.fromEntries(new URLSearchParams(request.body));
}

/** The service of a SigV4 `Authorization` header's credential scope (`…/<date>/<region>/<service>/aws4_request`). */
function signingService(authorization: string | string[] | undefined): string | null {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  return /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(value ?? '')?.[1] ?? null;
}

/** The account (access key id) and region of a SigV4 `Authorization` header. */
function parseIdentity(authorization: string | string[] | undefined): { account: string; region: string } | null {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/[^/]+\/aws4_request/.exec(value ?? '');
  if (!match?.[1] || !match[2]) return null;
  return { account: match[1], region: match[2] };
}

async function readRequest(req: IncomingMessage): Promise<SimRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function send(res: ServerResponse, response: SimResponse, requestId: string): void {
  res.writeHead(response.status, {
    ...response.headers,
    'x-amzn-requestid': requestId,
    'content-length': Buffer.byteLength(response.body),
  });
  res.end(response.body);
}

/**
 * A 200 whose body is no service's wire format: the HTML page a proxy or captive portal answers with. Neither JSON
 * (EKS, SSM, Logs) nor the XML document EC2 and SNS answer with.
 */
const GARBAGE: SimResponse = {
  status: 200,
  headers: { 'content-type': 'text/html' },
  body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>',
};

/**
 * A connection reset mid-response: the headers and the first half of the answer's body (at most 64 bytes) are
 * written, then the socket is destroyed, so the client sees fewer bytes than content-length promised.
 */
function resetMidResponse(res: ServerResponse, response: SimResponse, requestId: string): void {
  const body = Buffer.from(response.body);
  res.writeHead(response.status, {
    ...response.headers,
    'x-amzn-requestid': requestId,
    'content-length': Math.max(body.length, 2),
  });
  res.write(body.subarray(0, Math.min(64, Math.floor(body.length / 2))), () => res.socket?.destroy());
}

function header(headers: SimRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The call a fault may apply to; `clusters` (the clusters the call is about) is only worked out when a fault asks. */
interface FaultTarget {
  service: SimService;
  action: string;
  account: string;
  region: string;
  clusters: () => ReadonlySet<string>;
}

/**
 * Applies the scenario's faults: latency on every matching call; throttling, server errors, connection resets and
 * garbage bodies on some (the first matching fault that fires wins).
 */
class FaultInjector {
  readonly #counts: number[];

  constructor(
    private readonly faults: ReadonlyArray<Fault>,
    private readonly fleet: Fleet,
  ) {
    this.#counts = faults.map(() => 0);
  }

  async apply(target: FaultTarget): Promise<InjectedFault | null> {
    let latencyMs = 0;
    let injected: InjectedFault | null = null;
    let clusters: ReadonlySet<string> | undefined;
    for (const [i, fault] of this.faults.entries()) {
      if (!matches(fault, target)) continue;
      if (fault.cluster !== undefined) {
        clusters ??= target.clusters();
        if (!clusters.has(fault.cluster)) continue;
      }
      const n = (this.#counts[i] ?? 0) + 1;
      this.#counts[i] = n;
      latencyMs += fault.latencyMs ?? 0;
      if (injected) continue;
      const fires = (first: number | undefined, share: number | undefined) =>
        faultFires(n, first, share, this.fleet.random);
      injected = fires(fault.throttleFirst, fault.throttle)
        ? 'throttle'
        : fires(fault.serverErrorFirst, fault.serverError)
          ? 'serverError'
          : fires(fault.resetFirst, fault.reset)
            ? 'reset'
            : fires(fault.garbageFirst, fault.garbage)
              ? 'garbage'
              : null;
    }
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs * this.fleet.timeScale));
    return injected;
  }
}

function matches(fault: Fault, target: FaultTarget): boolean {
  if (fault.account !== undefined && fault.account !== target.account) return false;
  if (fault.region !== undefined && fault.region !== target.region) return false;
  const { service, action } = target;
  return fault.api === '*' || fault.api === `${service}:*` || fault.api === `${service}:${action}`;
}
