import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  GetQueryResultsCommand,
  ResourceNotFoundException,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { InsightsLogQueryRunner } from '#aws/logs.js';

const logs = mockClient(CloudWatchLogsClient);
const runner = () => new InsightsLogQueryRunner({ logs: new CloudWatchLogsClient({ region: 'eu-west-1' }) });

const QUERY = {
  logGroup: '/aws/containerinsights/a/dataplane',
  queryString: 'stats count(*) as n',
  startTime: 1_780_000_000,
  endTime: 1_780_086_400,
};

describe('InsightsLogQueryRunner', () => {
  beforeEach(() => {
    logs.reset();
  });

  it('starts a query on the log group over the window and returns its id', async () => {
    // Arrange
    logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });

    // Act
    const queryId = await runner().startQuery(QUERY);

    // Assert
    expect(queryId).toBe('q-1');
    expect(logs).toHaveReceivedCommandExactlyOnceWith(StartQueryCommand, {
      logGroupName: '/aws/containerinsights/a/dataplane',
      queryString: 'stats count(*) as n',
      startTime: 1_780_000_000,
      endTime: 1_780_086_400,
    });
  });

  it('returns null when the log group does not exist', async () => {
    // Arrange
    logs
      .on(StartQueryCommand)
      .rejects(new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} }));

    // Act
    const queryId = await runner().startQuery(QUERY);

    // Assert
    expect(queryId).toBeNull();
  });

  it('reports other failures, such as throttling, as an AwsCallError', async () => {
    // Arrange
    logs.on(StartQueryCommand).rejects(
      new CloudWatchLogsServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: {},
      }),
    );

    // Act
    const error = await runner()
      .startQuery(QUERY)
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({
      name: 'AwsCallError',
      message:
        'logs:StartQuery log group /aws/containerinsights/a/dataplane failed: ThrottlingException: Rate exceeded',
    });
  });

  it('reads result rows as field to value, without the @ptr pointer', async () => {
    // Arrange
    logs.on(GetQueryResultsCommand, { queryId: 'q-1' }).resolves({
      status: 'Complete',
      results: [
        [
          { field: 'kubeProxyLockErrors', value: '12' },
          { field: '@ptr', value: 'CmAKJwoj...' },
        ],
      ],
    });

    // Act
    const results = await runner().getQueryResults('q-1');

    // Assert
    expect(results).toEqual({ status: 'Complete', rows: [{ kubeProxyLockErrors: '12' }] });
  });

  it('reads a running query as no rows yet', async () => {
    // Arrange
    logs.on(GetQueryResultsCommand).resolves({ status: 'Running', results: [] });

    // Act
    const results = await runner().getQueryResults('q-1');

    // Assert
    expect(results).toEqual({ status: 'Running', rows: [] });
  });
});
