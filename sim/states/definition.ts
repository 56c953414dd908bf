import { z } from 'zod';
import { DefinitionError, STATES_ERRORS } from './errors.js';
import { checkTemplate, parsePath } from './paths.js';

/**
 * The subset of the Amazon States Language (JSONPath query language) the interpreter runs, as strict schemas: a
 * field the interpreter does not model (a Task's HeartbeatSeconds, a Distributed Map's ResultWriter, JSONata, …)
 * makes the definition fail to load with a line naming the state and the field. The local runner therefore either
 * runs a definition exactly or refuses it; it never ignores part of it.
 *
 * Reference: https://states-language.net/spec.html and
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
 */

const Path = z.string();
const NullablePath = z.string().nullable();
const Template = z.unknown();

const Retrier = z
  .object({
    ErrorEquals: z.array(z.string()).min(1),
    IntervalSeconds: z.number().int().positive().optional(),
    MaxAttempts: z.number().int().min(0).optional(),
    BackoffRate: z.number().min(1).optional(),
    MaxDelaySeconds: z.number().int().positive().optional(),
    JitterStrategy: z.enum(['FULL', 'NONE']).optional(),
    Comment: z.string().optional(),
  })
  .strict();
export type Retrier = z.infer<typeof Retrier>;

const Catcher = z
  .object({
    ErrorEquals: z.array(z.string()).min(1),
    Next: z.string(),
    ResultPath: NullablePath.optional(),
    Comment: z.string().optional(),
  })
  .strict();
export type Catcher = z.infer<typeof Catcher>;

const common = { Comment: z.string().optional() };
const io = { InputPath: NullablePath.optional(), OutputPath: NullablePath.optional() };
const transition = { Next: z.string().optional(), End: z.literal(true).optional() };
const handling = { Retry: z.array(Retrier).optional(), Catch: z.array(Catcher).optional() };
/** What Task, Parallel and Map share: they produce a result (selected and placed), can retry and catch, and move on. */
const working = {
  ResultSelector: Template.optional(),
  ResultPath: NullablePath.optional(),
  ...common,
  ...io,
  ...transition,
  ...handling,
};

const Task = z
  .object({
    Type: z.literal('Task'),
    Resource: z.string(),
    Parameters: Template.optional(),
    TimeoutSeconds: z.number().int().positive().optional(),
    ...working,
  })
  .strict();

const Pass = z
  .object({
    Type: z.literal('Pass'),
    Result: z.unknown().optional(),
    Parameters: Template.optional(),
    ResultPath: NullablePath.optional(),
    ...common,
    ...io,
    ...transition,
  })
  .strict();

const Wait = z
  .object({
    Type: z.literal('Wait'),
    Seconds: z.number().int().min(0).optional(),
    SecondsPath: Path.optional(),
    Timestamp: z.string().optional(),
    TimestampPath: Path.optional(),
    ...common,
    ...io,
    ...transition,
  })
  .strict();

/** The comparison operators of a Choice rule (https://states-language.net/spec.html#choice-state). */
export const COMPARISONS = [
  'StringEquals',
  'StringLessThan',
  'StringGreaterThan',
  'StringLessThanEquals',
  'StringGreaterThanEquals',
  'StringMatches',
  'NumericEquals',
  'NumericLessThan',
  'NumericGreaterThan',
  'NumericLessThanEquals',
  'NumericGreaterThanEquals',
  'BooleanEquals',
  'TimestampEquals',
  'TimestampLessThan',
  'TimestampGreaterThan',
  'TimestampLessThanEquals',
  'TimestampGreaterThanEquals',
  'IsNull',
  'IsPresent',
  'IsNumeric',
  'IsString',
  'IsBoolean',
  'IsTimestamp',
] as const;
const PATH_COMPARISONS = COMPARISONS.filter((c) => !c.startsWith('Is') && c !== 'StringMatches').map((c) => `${c}Path`);

export interface ChoiceRule {
  Variable?: string;
  And?: ChoiceRule[];
  Or?: ChoiceRule[];
  Not?: ChoiceRule;
  Next?: string;
  Comment?: string;
  [operator: string]: unknown;
}

const Choice = z
  .object({
    Type: z.literal('Choice'),
    Choices: z.array(z.record(z.string(), z.unknown())).min(1),
    Default: z.string().optional(),
    ...common,
    ...io,
  })
  .strict();

const Succeed = z.object({ Type: z.literal('Succeed'), ...common, ...io }).strict();

const Fail = z
  .object({ Type: z.literal('Fail'), Error: z.string().optional(), Cause: z.string().optional(), ...common })
  .strict();

export interface Machine {
  StartAt: string;
  States: Record<string, State>;
  Comment?: string;
  TimeoutSeconds?: number;
  Version?: string;
}

const MachineSchema: z.ZodType<Machine> = z.lazy(() =>
  z
    .object({
      StartAt: z.string(),
      States: z.record(z.string(), StateSchema),
      Comment: z.string().optional(),
      TimeoutSeconds: z.number().int().positive().optional(),
      Version: z.literal('1.0').optional(),
    })
    .strict(),
);

/** What the Task, Parallel and Map states share (their Retry, Catch and result handling). */
interface ActionState {
  Comment?: string;
  InputPath?: string | null;
  OutputPath?: string | null;
  Next?: string;
  End?: true;
  Retry?: Retrier[];
  Catch?: Catcher[];
  ResultSelector?: unknown;
  ResultPath?: string | null;
}

/** https://states-language.net/spec.html#parallel-state */
export interface ParallelState extends ActionState {
  Type: 'Parallel';
  Branches: Machine[];
  Parameters?: unknown;
}

/**
 * The ItemReader of a Distributed Map reading one JSON array from S3 (`arn:aws:states:::s3:getObject` with
 * `ReaderConfig.InputType` JSON, https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html).
 * CSV, JSONL, manifests and object listings are refused.
 */
export interface ItemReader {
  Resource: 'arn:aws:states:::s3:getObject';
  ReaderConfig: { InputType: 'JSON'; MaxItems?: number };
  Parameters: Record<string, unknown>;
}

/**
 * A Map state: inline (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html), or distributed
 * (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html): each item a Standard child
 * execution with its own history and quotas, the items from ItemsPath or an S3 ItemReader, with
 * ToleratedFailurePercentage / ToleratedFailureCount. Express children, ItemBatcher, ResultWriter and a Label are
 * refused, and so is a distributed Map whose results are not discarded (ResultPath null): the interpreter does not
 * model the shape of a Map Run's result.
 */
export interface MapState extends ActionState {
  Type: 'Map';
  ItemProcessor: {
    ProcessorConfig?: { Mode: 'INLINE' } | { Mode: 'DISTRIBUTED'; ExecutionType: 'STANDARD' };
    StartAt: string;
    States: Record<string, State>;
  };
  ItemsPath?: string;
  ItemReader?: ItemReader;
  ItemSelector?: unknown;
  MaxConcurrency?: number;
  ToleratedFailurePercentage?: number;
  ToleratedFailureCount?: number;
}

/** Whether a Map runs its items as child executions. */
export function isDistributed(state: MapState): boolean {
  return state.ItemProcessor.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

const ParallelSchema: z.ZodType<ParallelState> = z.lazy(() =>
  z
    .object({
      Type: z.literal('Parallel'),
      Branches: z.array(MachineSchema).min(1),
      Parameters: Template.optional(),
      ...working,
    })
    .strict(),
);

const MapSchema: z.ZodType<MapState> = z.lazy(() =>
  z
    .object({
      Type: z.literal('Map'),
      ItemProcessor: z
        .object({
          ProcessorConfig: z
            .union([
              z.object({ Mode: z.literal('INLINE') }).strict(),
              z.object({ Mode: z.literal('DISTRIBUTED'), ExecutionType: z.literal('STANDARD') }).strict(),
            ])
            .optional(),
          StartAt: z.string(),
          States: z.record(z.string(), StateSchema),
        })
        .strict(),
      ItemsPath: Path.optional(),
      ItemReader: z
        .object({
          Resource: z.literal('arn:aws:states:::s3:getObject'),
          ReaderConfig: z
            .object({ InputType: z.literal('JSON'), MaxItems: z.number().int().positive().optional() })
            .strict(),
          Parameters: z.record(z.string(), z.unknown()),
        })
        .strict()
        .optional(),
      ItemSelector: Template.optional(),
      MaxConcurrency: z.number().int().min(0).optional(),
      ToleratedFailurePercentage: z.number().min(0).max(100).optional(),
      ToleratedFailureCount: z.number().int().min(0).optional(),
      ...working,
    })
    .strict(),
);

export type TaskState = z.infer<typeof Task>;
export type PassState = z.infer<typeof Pass>;
export type WaitState = z.infer<typeof Wait>;
export type ChoiceState = Omit<z.infer<typeof Choice>, 'Choices'> & { Choices: ChoiceRule[] };
export type SucceedState = z.infer<typeof Succeed>;
export type FailState = z.infer<typeof Fail>;
export type State =
  | TaskState
  | PassState
  | WaitState
  | ChoiceState
  | SucceedState
  | FailState
  | ParallelState
  | MapState;

/**
 * A state, parsed by the schema of its Type so that an error names the state's own field (a union would only say
 * that no member matched).
 */
const StateSchema: z.ZodType<State> = z.unknown().transform((value, ctx): State => {
  const type = (value as { Type?: unknown } | null)?.Type;
  const schemas: Record<string, z.ZodType<State>> = {
    Task,
    Pass,
    Wait,
    Choice: Choice as unknown as z.ZodType<State>,
    Succeed,
    Fail,
    Parallel: ParallelSchema,
    Map: MapSchema,
  };
  const schema = typeof type === 'string' ? schemas[type] : undefined;
  if (!schema) {
    ctx.addIssue({
      code: 'custom',
      message: `Type ${JSON.stringify(type)} is not a state type the interpreter models`,
    });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

/**
 * Parses and checks a state machine definition: the schema above, then what the schema cannot say — every `Next`
 * names a state of its own machine, non-terminal states have exactly one of Next/End, `States.ALL` stands alone
 * and last, every path is a reference path and no intrinsic function is used.
 */
export function loadDefinition(definition: unknown): Machine {
  const parsed = MachineSchema.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(the definition)';
    const detail =
      issue?.code === 'unrecognized_keys'
        ? `field ${issue.keys.join(', ')} is not modelled by the local interpreter`
        : (issue?.message ?? 'is not valid');
    throw new DefinitionError(`state machine definition: ${where}: ${detail}`);
  }
  checkMachine(parsed.data, 'States');
  return parsed.data;
}

function checkMachine(machine: Machine, where: string): void {
  const names = new Set(Object.keys(machine.States));
  const target = (state: string, field: string, next: string | undefined) => {
    if (next !== undefined && !names.has(next)) {
      throw new DefinitionError(`${where}.${state}.${field}: no state named ${JSON.stringify(next)}`);
    }
  };
  if (!names.has(machine.StartAt)) throw new DefinitionError(`${where}: StartAt names no state (${machine.StartAt})`);
  for (const [name, state] of Object.entries(machine.States)) {
    const at = `${where}.${name}`;
    const paths: Array<[string, string | null | undefined]> = [];
    if ('InputPath' in state) paths.push(['InputPath', state.InputPath], ['OutputPath', state.OutputPath]);
    if ('ResultPath' in state) paths.push(['ResultPath', state.ResultPath]);
    for (const [field, path] of paths) if (typeof path === 'string') checkPath(path, `${at}.${field}`);
    switch (state.Type) {
      case 'Choice':
        for (const [i, rule] of state.Choices.entries()) {
          if (typeof rule.Next !== 'string')
            throw new DefinitionError(`${at}.Choices.${i}: a top-level rule needs Next`);
          target(name, `Choices.${i}.Next`, rule.Next);
          checkRule(rule, `${at}.Choices.${i}`);
        }
        target(name, 'Default', state.Default);
        break;
      case 'Succeed':
      case 'Fail':
        break;
      default: {
        const terminal = state.End === true;
        if (terminal === (state.Next !== undefined)) {
          throw new DefinitionError(`${at}: exactly one of Next and End is required`);
        }
        target(name, 'Next', state.Next);
      }
    }
    if ('Retry' in state || 'Catch' in state) {
      const handlers = state as { Retry?: Retrier[]; Catch?: Catcher[] };
      checkErrorLists(
        (handlers.Retry ?? []).map((r) => r.ErrorEquals),
        `${at}.Retry`,
      );
      checkErrorLists(
        (handlers.Catch ?? []).map((c) => c.ErrorEquals),
        `${at}.Catch`,
      );
      for (const [i, catcher] of (handlers.Catch ?? []).entries()) {
        target(name, `Catch.${i}.Next`, catcher.Next);
        if (typeof catcher.ResultPath === 'string') checkPath(catcher.ResultPath, `${at}.Catch.${i}.ResultPath`);
      }
    }
    if (state.Type === 'Task' || state.Type === 'Pass' || state.Type === 'Parallel') {
      checkTemplate(state.Parameters, `${at}.Parameters`);
    }
    if (state.Type === 'Task' || state.Type === 'Parallel' || state.Type === 'Map') {
      checkTemplate(state.ResultSelector, `${at}.ResultSelector`);
    }
    if (state.Type === 'Wait') {
      const given = [state.Seconds, state.SecondsPath, state.Timestamp, state.TimestampPath].filter(
        (v) => v !== undefined,
      );
      if (given.length !== 1) {
        throw new DefinitionError(`${at}: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath`);
      }
      if (state.SecondsPath) checkPath(state.SecondsPath, `${at}.SecondsPath`);
      if (state.TimestampPath) checkPath(state.TimestampPath, `${at}.TimestampPath`);
    }
    if (state.Type === 'Parallel') {
      for (const [i, branch] of state.Branches.entries()) checkMachine(branch, `${at}.Branches.${i}`);
    }
    if (state.Type === 'Map') {
      checkMapMode(state, at);
      if (state.ItemsPath) checkPath(state.ItemsPath, `${at}.ItemsPath`);
      checkTemplate(state.ItemSelector, `${at}.ItemSelector`);
      checkMachine({ StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States }, `${at}.ItemProcessor`);
    }
  }
}

/** What only a Distributed Map may have, and what the interpreter models of one. */
function checkMapMode(state: MapState, at: string): void {
  const distributed = isDistributed(state);
  const only = (['ItemReader', 'ToleratedFailurePercentage', 'ToleratedFailureCount'] as const).filter(
    (field) => state[field] !== undefined,
  );
  if (!distributed && only.length > 0) {
    throw new DefinitionError(`${at}: ${only.join(', ')} needs ProcessorConfig.Mode DISTRIBUTED`);
  }
  if (!distributed) return;
  if (state.ItemReader && state.ItemsPath !== undefined) {
    throw new DefinitionError(`${at}: ItemsPath and ItemReader exclude each other`);
  }
  if (state.ResultPath !== null) {
    throw new DefinitionError(
      `${at}: a Distributed Map is modelled only with its results discarded (ResultPath null, no ResultWriter)`,
    );
  }
  if (state.ItemReader) checkTemplate(state.ItemReader.Parameters, `${at}.ItemReader.Parameters`);
}

function checkRule(rule: ChoiceRule, at: string): void {
  const combinators = (['And', 'Or', 'Not'] as const).filter((k) => rule[k] !== undefined);
  if (combinators.length > 0) {
    if (combinators.length > 1 || rule.Variable !== undefined) {
      throw new DefinitionError(`${at}: a rule is either And, Or, Not or a Variable comparison`);
    }
    const inner = rule.And ?? rule.Or ?? (rule.Not ? [rule.Not] : []);
    for (const [i, r] of inner.entries()) checkRule(r, `${at}.${combinators[0]}.${i}`);
    return;
  }
  if (typeof rule.Variable !== 'string') throw new DefinitionError(`${at}: Variable is required`);
  checkPath(rule.Variable, `${at}.Variable`);
  const operators = Object.keys(rule).filter((k) => !['Variable', 'Next', 'Comment'].includes(k));
  const known = new Set<string>([...COMPARISONS, ...PATH_COMPARISONS]);
  if (operators.length !== 1 || !known.has(operators[0] ?? '')) {
    throw new DefinitionError(
      `${at}: exactly one comparison operator is required, found ${operators.join(', ') || 'none'}`,
    );
  }
  const operator = operators[0] ?? '';
  if (operator.endsWith('Path')) checkPath(String(rule[operator]), `${at}.${operator}`);
}

function checkErrorLists(lists: ReadonlyArray<ReadonlyArray<string>>, at: string): void {
  for (const [i, errors] of lists.entries()) {
    if (errors.includes(STATES_ERRORS.all) && (errors.length > 1 || i !== lists.length - 1)) {
      throw new DefinitionError(`${at}.${i}: States.ALL must appear alone, in the last retrier or catcher`);
    }
  }
}

function checkPath(path: string, at: string): void {
  try {
    parsePath(path);
  } catch (error) {
    throw new DefinitionError(`${at}: ${(error as Error).message}`);
  }
}
