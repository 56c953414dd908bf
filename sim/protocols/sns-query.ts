import type { RegionFleet } from '../fleet.js';
import { ApiError, type SimResponse, xmlEscape } from './wire.js';

/**
 * SNS over awsQuery: a form-encoded `Action=Publish&Version=2010-03-31&…` POST answered with `PublishResponse`
 * XML; errors are `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>…`.
 */

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

export function handleSns(params: URLSearchParams, region: RegionFleet, requestId: string): SimResponse {
  const action = params.get('Action');
  if (action !== 'Publish') {
    throw new ApiError(400, 'InvalidAction', `The action ${action ?? '(none)'} is not valid for this endpoint.`);
  }
  const topicArn = params.get('TopicArn');
  if (topicArn === null) {
    const other = params.has('TargetArn') ? 'TargetArn' : params.has('PhoneNumber') ? 'PhoneNumber' : null;
    throw new ApiError(
      400,
      'InvalidParameter',
      other ? `${other} is not simulated; use TopicArn` : 'Invalid parameter: TopicArn',
    );
  }
  const message = params.get('Message');
  if (message === null || message === '')
    throw new ApiError(400, 'InvalidParameter', 'Invalid parameter: Empty message');
  const messageId = region.publish({
    topicArn,
    message,
    subject: params.get('Subject'),
    messageStructure: params.get('MessageStructure'),
    attributes: messageAttributes(params),
  });
  const body =
    `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`;
  return { status: 200, headers: { 'content-type': 'text/xml' }, body };
}

export function snsError(error: ApiError, requestId: string): SimResponse {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  const body =
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${xmlEscape(error.code)}</Code>` +
    `<Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { 'content-type': 'text/xml' }, body };
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` (or BinaryValue). */
function messageAttributes(params: URLSearchParams): Record<string, { dataType: string; value: string }> {
  const attributes: Record<string, { dataType: string; value: string }> = {};
  for (let n = 1; params.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const prefix = `MessageAttributes.entry.${n}`;
    const name = params.get(`${prefix}.Name`) ?? '';
    const dataType = params.get(`${prefix}.Value.DataType`);
    if (dataType === null || !/^(String|Number|Binary)(\..+)?$|^String\.Array$/.test(dataType)) {
      throw new ApiError(
        400,
        'InvalidParameterValue',
        `The message attribute '${name}' has an invalid message attribute type`,
      );
    }
    const value = params.get(`${prefix}.Value.StringValue`) ?? params.get(`${prefix}.Value.BinaryValue`) ?? '';
    attributes[name] = { dataType, value };
  }
  return attributes;
}
