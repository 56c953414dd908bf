import { describe, expect, it, vi } from 'vitest';
import { instantClock } from '#sim/states/clock.js';
import { DefinitionError } from '#sim/states/errors.js';
import { runExecution } from '#sim/states/execution.js';
import { type LambdaHandler, LocalLambdaService } from '#sim/states/lambda-service.js';
import { MAX_HISTORY_EVENTS } from '#sim/states/quotas.js';
import type { ObjectReader } from '#sim/states/s3.js';

/** The interpreter's Distributed Map, on definitions small enough to read in full. */

const FN = 'arn:aws:lambda:eu-west-1:111111111111:function:Item';

/** A Distributed Map over `$.items` (or an ItemReader) whose child runs one Task, with `extra` fields on the Map. */
function distributed(extra: Record<string, unknown> = {}, processor?: { StartAt: string; States: unknown }) {
  return {
    StartAt: 'Each',
    States: {
      Each: {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          ...(processor ?? { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN, End: true } } }),
        },
        ResultPath: null,
        End: true,
        ...extra,
      },
    },
  };
}

function lambdaWith(handler: LambdaHandler) {
  const lambda = new LocalLambdaService();
  lambda.deploy(FN, { handler, timeoutSeconds: 60 });
  return lambda;
}

const run = (definition: unknown, lambda: LocalLambdaService, input: unknown, s3?: ObjectReader) =>
  runExecution({
    definition,
    lambda,
    clock: instantClock(),
    name: 'dmap',
    input,
    random: () => 1,
    ...(s3 && { s3 }),
  });

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('a Distributed Map in the interpreter', () => {
  it('runs each item as its own child execution, at most MaxConcurrency at once', async () => {
    let running = 0;
    let most = 0;
    const lambda = lambdaWith(async (event) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running -= 1;
      return event;
    });

    const result = await run(distributed({ MaxConcurrency: 3 }), lambda, { items: items(10) });

    expect(result.status).toBe('SUCCEEDED');
    expect(most).toBe(3);
    expect(result.children).toHaveLength(10);
    expect(result.children[0]?.history.events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(result.history.events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'MapRunSucceeded',
      'MapStateExited',
      'ExecutionSucceeded',
    ]);
    expect(result.maxHistoryEvents).toBe(7);
  });

  it('tolerates ToleratedFailureCount failed children; one more fails the Map with States.ExceedToleratedFailureThreshold', async () => {
    const failOn = (bad: number[]) =>
      lambdaWith(async (event) => {
        if (bad.includes(event as number)) throw new Error(`item ${String(event)} broke`);
        return event;
      });
    const definition = distributed({ MaxConcurrency: 1, ToleratedFailureCount: 1 });

    const tolerated = await run(definition, failOn([2]), { items: items(5) });
    const exceeded = await run(definition, failOn([1, 2]), { items: items(5) });

    expect(tolerated.status).toBe('SUCCEEDED');
    expect(tolerated.children.map((c) => c.status).join(' ')).toBe('SUCCEEDED SUCCEEDED FAILED SUCCEEDED SUCCEEDED');
    expect(exceeded.status).toBe('FAILED');
    expect(exceeded.error).toBe('States.ExceedToleratedFailureThreshold');
    expect(exceeded.cause).toMatch(/^The specified tolerated failure threshold was exceeded: 2 of 5 child executions/);
    // the Map Run stops starting children once it has failed
    expect(exceeded.children).toHaveLength(3);
    expect(exceeded.history.counts().MapRunFailed).toBe(1);
  });

  it('compares ToleratedFailurePercentage with the share of all items, and fails on any failure without either', async () => {
    const failFirst = lambdaWith(async (event) => {
      if (event === 0) throw new Error('item 0 broke');
      return event;
    });

    // 1 of 10 is 10 %: not more than 10
    expect((await run(distributed({ ToleratedFailurePercentage: 10 }), failFirst, { items: items(10) })).status).toBe(
      'SUCCEEDED',
    );
    // 1 of 5 is 20 %
    expect((await run(distributed({ ToleratedFailurePercentage: 10 }), failFirst, { items: items(5) })).error).toBe(
      'States.ExceedToleratedFailureThreshold',
    );
    expect((await run(distributed(), failFirst, { items: items(10) })).error).toBe(
      'States.ExceedToleratedFailureThreshold',
    );
  });

  it('gives each child its own 25,000-event history: a child that loops fails alone', async () => {
    const loop = { StartAt: 'Again', States: { Again: { Type: 'Pass', Next: 'Again' } } };
    const definition = distributed({ ToleratedFailureCount: 1 }, loop);

    const result = await run(
      definition,
      lambdaWith(async () => null),
      { items: items(2) },
    );

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.ExceedToleratedFailureThreshold');
    expect(result.children.map((c) => [c.status, c.error, c.history.events.length])).toEqual([
      ['FAILED', 'States.Runtime', MAX_HISTORY_EVENTS],
      ['FAILED', 'States.Runtime', MAX_HISTORY_EVENTS],
    ]);
    expect(result.history.events.length).toBeLessThan(10);
    expect(result.maxHistoryEvents).toBe(MAX_HISTORY_EVENTS);
  });

  it('reads its items with the ItemReader, and fails with States.ItemReaderFailed when the object cannot be read', async () => {
    const reader = {
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: 'lists', 'Key.$': '$.key' },
      },
    };
    const { ItemsPath: _, ...withoutPath } = distributed(reader).States.Each;
    const definition = { StartAt: 'Each', States: { Each: withoutPath } };
    const objects: Record<string, string> = { 'lists/ok.json': '[1,2,3]', 'lists/object.json': '{"a":1}' };
    const s3: ObjectReader = {
      getObject: async (bucket, key) => {
        const body = objects[`${bucket}/${key}`];
        if (body === undefined)
          throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
        return body;
      },
    };
    const seen: unknown[] = [];
    const lambda = lambdaWith(async (event) => {
      seen.push(event);
      return null;
    });

    const ok = await run(definition, lambda, { key: 'ok.json' }, s3);
    const missing = await run(definition, lambda, { key: 'gone.json' }, s3);
    const notArray = await run(definition, lambda, { key: 'object.json' }, s3);

    expect(ok.status).toBe('SUCCEEDED');
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect(missing.error).toBe('States.ItemReaderFailed');
    expect(missing.cause).toBe(
      'Map Each: the ItemReader could not read s3://lists/gone.json: NoSuchKey: The specified key does not exist.',
    );
    expect(notArray.cause).toBe(
      'Map Each: the ItemReader could not read s3://lists/object.json: the object is not a JSON array',
    );
  });

  it('starts no more children once the parent is stopped (a sibling branch failed)', async () => {
    let started = 0;
    const lambda = lambdaWith(async (event) => {
      started += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return event;
    });
    const map = distributed({ MaxConcurrency: 1 }).States.Each;
    const definition = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          End: true,
          Branches: [
            { StartAt: 'Each', States: { Each: map } },
            { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Boom', Cause: 'the other branch' } } },
          ],
        },
      },
    };

    const result = await run(definition, lambda, { items: items(10) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Boom');
    // the child already running ends on its own (the interpreter does not stop a function mid-call); once it is
    // recorded, its worker has decided not to start another
    await vi.waitFor(() => expect(result.children).toHaveLength(1));
    expect(started).toBe(1);
  });

  it('refuses what it does not model: results kept in the state, Express children, ItemReader on an inline Map', async () => {
    const lambda = lambdaWith(async () => null);
    await expect(run(distributed({ ResultPath: '$.results' }), lambda, { items: [] })).rejects.toThrow(
      'States.Each: a Distributed Map is modelled only with its results discarded (ResultPath null, no ResultWriter)',
    );
    const express = distributed();
    (express.States.Each.ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig = {
      Mode: 'DISTRIBUTED',
      ExecutionType: 'EXPRESS',
    };
    await expect(run(express, lambda, { items: [] })).rejects.toBeInstanceOf(DefinitionError);
    const inline = distributed({ ToleratedFailureCount: 1 });
    (inline.States.Each.ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig = { Mode: 'INLINE' };
    await expect(run(inline, lambda, { items: [] })).rejects.toThrow(
      'States.Each: ToleratedFailureCount needs ProcessorConfig.Mode DISTRIBUTED',
    );
  });
});
