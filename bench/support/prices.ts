/**
 * us-east-1 on-demand prices the benches price runs at (AWS pricing pages, December
 * 2026; free tiers ignored):
 * - DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read
 *   request units; DynamoDB Streams reads by a Lambda trigger are free;
 * - SQS FIFO: $0.50 per million requests (a batch of up to 10 is one request);
 * - Lambda arm64: $0.20 per million requests, $0.0000133334 per GB-second.
 */
export const prices = {
  dynamoDbWriteUnit: 0.625e-6,
  dynamoDbReadUnit: 0.125e-6,
  sqsFifoRequest: 0.5e-6,
  lambdaRequest: 0.2e-6,
  lambdaGbSecond: 0.0000133334,
} as const;

/** Memory of the construct's functions, in GB: the worker's default (1024 MB) and the stream consumers' (256 MB). */
export const functionMemoryGb = { worker: 1, stream: 0.25 } as const;
